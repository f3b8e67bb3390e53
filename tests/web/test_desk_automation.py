"""The automation desk page (/desk/automation): supervisors and administrators only; rules with their
readable summary and JSON, executions (customer text escaped), case-update settings."""

from __future__ import annotations

import pytest

from tests.access_helpers import cheap_hashing, sign_in
from tests.automation_helpers import customer, save_rule, settle


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def test_agents_get_404_and_supervisors_see_rules_and_executions(client, services, org):
    save_rule(services, name="Tag <b>reclami</b>", trigger="message.received",
              conditions={"any": [{"field": "message.text", "op": "contains", "value": "<script>x</script>"},
                                  {"field": "contact.language", "op": "not_exists"}]},
              actions=[{"type": "set_field", "field": "contact.tags", "value": "reclamo"}])
    customer(services, "393479999999", body="<img src=x onerror=alert(1)>")
    settle(services)
    services.case_updates.do_save_setting("refund", {"statuses": ["resolved"]})
    sign_in(client, "agent_care")
    assert client.get("/desk/automation").status_code == 404
    sign_in(client, "supervisor")
    page = client.get("/desk/automation")
    assert page.status_code == 200
    html = page.text
    assert "Tag &lt;b&gt;reclami&lt;/b&gt;" in html and "<b>reclami</b>" not in html
    assert "&lt;script&gt;" in html and "<script>x</script>" not in html
    assert "message.received" in html and "set_field(field=&#34;contact.tags&#34;" in html
    assert 'data-execution="' in html and "done" in html
    assert "onerror" not in html  # the customer's text is not shown in the log
    assert 'data-case-type="refund"' in html
    assert 'href="/desk/automation"' in html  # the header link for supervisors


def test_older_executions_by_cursor(client, services, org):
    save_rule(services, name="Tutti", trigger="message.received",
              actions=[{"type": "set_field", "field": "contact.attributes.visto", "value": "si"}])
    for n in range(55):
        customer(services, f"3934800{n:05d}")
    settle(services)
    sign_in(client, "admin")
    first = client.get("/desk/automation").text
    assert first.count('data-execution="') == 50 and "data-older" in first
    older = first.split('data-older')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older).text
    assert second.count('data-execution="') == 5 and "data-older" not in second
