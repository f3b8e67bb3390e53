"""The notifications area, built once per process (services.py): the notification and verification use
cases on the process's TemplateSender, their in-transaction listeners subscribed."""

from __future__ import annotations

from dataclasses import dataclass

from centralino.app.notification_use_cases import UseCases
from centralino.app.notifications import NotificationService
from centralino.app.template_send import TemplateSender
from centralino.app.verifications import VerificationService
from centralino.config import Settings
from centralino.events.bus import EventBus


@dataclass
class Notifications:
    service: NotificationService  # do_notify, the log, status mirror and callbacks (app/notifications.py)
    verifications: VerificationService  # one-time codes (app/verifications.py)
    use_cases: UseCases  # the aliases (app/notification_use_cases.py)


def install_notifications(settings: Settings, bus: EventBus, sender: TemplateSender | None) -> Notifications:
    assert sender is not None, "services.template_sender is wired before the notifications"
    service = NotificationService(sender.engine, sender.directory, bus, sender,
                                  default_channel_id=settings.notification_channel_id)
    verifications = VerificationService(sender.engine, bus, service, settings.secret_key.get_secret_value())
    return Notifications(service, verifications, UseCases(sender.engine, bus))
