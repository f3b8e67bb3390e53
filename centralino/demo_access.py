"""The demo's people: an administrator, a supervisor and two agents with published passwords, and the
departments "Assistenza clienti" (serving the demo WhatsApp number) and "Vendite" (no channel yet).

Created once, through the same admin use cases as real users (so they are audited), and never in
production mode: these passwords are in the repository.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from centralino.config import Mode
from centralino.domain.access import Language, Principal, Role
from centralino.services import Services
from centralino.simulator.defaults import DEMO_PNID
from centralino.storage import users as user_repo
from centralino.storage.tables import channels


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    display_name: str
    role: Role
    departments: tuple[str, ...]
    language: Language = Language.IT


CUSTOMER_CARE = "Assistenza clienti"
SALES = "Vendite"

DEMO_USERS = (
    DemoUser("admin@demo.centralino.dev", "demo-admin", "Amministratore Demo", Role.ADMIN, ()),
    DemoUser("supervisor@demo.centralino.dev", "demo-supervisor", "Sara Supervisor", Role.SUPERVISOR,
             (CUSTOMER_CARE, SALES)),
    DemoUser("giulia.agent@demo.centralino.dev", "demo-agent", "Giulia Agente", Role.AGENT, (CUSTOMER_CARE,)),
    DemoUser("marco.agent@demo.centralino.dev", "demo-agent", "Marco Agent", Role.AGENT, (SALES,), Language.EN),
)

# The demo acts as the installation itself when it creates its people.
SETUP = Principal(role=Role.ADMIN, user_id=None, via="integration")


def ensure_demo_users(services: Services) -> bool:
    """Create the demo departments and users unless they exist; False when they already did."""
    if services.settings.mode is Mode.PRODUCTION:
        raise RuntimeError("demo users are never created in production mode")
    with services.engine.connect() as conn:
        if user_repo.user_by_email(conn, DEMO_USERS[0].email) is not None:
            return False
        demo_channel = conn.execute(select(channels.c.id).where(channels.c.address == DEMO_PNID)).scalar()
    department_ids = {}
    for name, served in ((CUSTOMER_CARE, [int(demo_channel)] if demo_channel else []), (SALES, [])):
        with services.engine.connect() as conn:
            existing = user_repo.department_by_name(conn, name)
        department_ids[name] = existing if existing is not None else int(
            services.admin.do_create_department(SETUP, name, channel_ids=served)["id"])
    for user in DEMO_USERS:
        services.admin.do_create_user(SETUP, email=user.email, display_name=user.display_name, role=user.role,
                                      password=user.password, language=user.language,
                                      department_ids=[department_ids[d] for d in user.departments])
    return True


def credentials_text() -> str:
    return "\n".join(f"    {u.role.value:<10}  {u.email:<34}  {u.password}" for u in DEMO_USERS)
