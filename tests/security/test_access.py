"""Every page of the site, tried by an anonymous visitor and by another member, reading and
posting: nobody ever sees or changes anything of the victim's. The URLs come from the resolver
(see conftest), so pages added later are tried too."""

from __future__ import annotations

import pytest
from django.test import Client

from .conftest import site_urls

# What a page may answer someone who may not see it.
REFUSED = {301, 302, 400, 403, 404, 405, 429}


def leaks(response, victim, sent: dict | None = None) -> list[str]:
    """The victim's markers in the answer, leaving out what the request itself sent (a page may
    echo its own query string back)."""
    body = response.content.decode(errors="replace")
    echoed = set((sent or {}).values())
    return [marker for marker in victim.markers if marker and marker not in echoed and marker in body]


def test_the_url_list_covers_the_portal_the_staff_pages_and_admin(victim):
    urls = site_urls(victim)
    assert "/portal/" in urls and "/staff/" in urls and "/admin/" in urls
    assert f"/admin/members/member/{victim.member.pk}/change/" in urls
    assert len(urls) > 40


def test_the_victim_sees_their_own_data_so_the_markers_are_real(client, victim):
    client.force_login(victim.member.user)
    seen = set()
    for url in site_urls(victim):
        if url.startswith(("/portal/", "/accounts/")):
            response = client.get(url)
            seen.update(leaks(response, victim))
    assert {victim.member.member_number, victim.member.first_name, victim.voucher_code} <= seen


def test_an_anonymous_visitor_gets_nothing_of_a_member(victim):
    before = victim.state()
    anonymous = Client()
    for url in site_urls(victim):
        for method in (anonymous.get, anonymous.post):
            response = method(url)
            assert not leaks(response, victim), f"{method.__name__} {url} shows the victim's data"
            if url.startswith(("/portal/", "/staff/", "/admin/")) and url != "/admin/login/":
                assert response.status_code in REFUSED, f"{method.__name__} {url}: {response.status_code}"
                if response.status_code == 302 and "logout" not in url:
                    assert "login" in response["Location"], url
    assert victim.state() == before


def test_another_member_gets_nothing_of_the_victim_and_changes_nothing(victim, intruder):
    before = victim.state()
    other = Client()
    member = victim.member
    # The victim's ids offered in the query string and in the body too, wherever a view looks.
    theirs = {
        "member": member.member_number,
        "member_id": str(member.pk),
        "member_number": member.member_number,
        "id": str(victim.redemption_id),
        "pk": str(victim.redemption_id),
        "redemption": str(victim.redemption_id),
        "voucher_code": victim.voucher_code,
    }
    for url in site_urls(victim):
        other.force_login(intruder)
        for method, sent in ((other.get, {}), (other.get, theirs), (other.post, {}), (other.post, theirs)):
            response = method(url, sent)
            assert not leaks(response, victim, sent), f"{method.__name__} {url} shows the victim's data"
            if url.startswith(("/staff/", "/admin/")) and url != "/admin/login/":
                assert response.status_code in REFUSED, f"{method.__name__} {url}: {response.status_code}"
    assert victim.state() == before


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_every_form_post_without_a_csrf_token_is_refused(victim, intruder, who):
    browser = Client(enforce_csrf_checks=True)
    if who == "member":
        browser.force_login(intruder)
    before = victim.state()
    for url in site_urls(victim):
        response = browser.post(url, {"email": "x@example.org", "password": "x"})
        assert response.status_code == 403, f"POST {url} without a CSRF token: {response.status_code}"
    assert victim.state() == before


def test_every_post_form_on_every_page_carries_a_csrf_token(victim):
    import re

    browser = Client()
    browser.force_login(victim.member.user)
    forms_seen = 0
    for url in site_urls(victim):
        if url.startswith("/admin/") or "logout" in url:
            continue
        response = browser.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in re.findall(r"<form\b[^>]*>.*?</form>", response.content.decode(), flags=re.S | re.I):
            if re.search(r"method=[\"']?post", form, flags=re.I):
                forms_seen += 1
                assert "csrfmiddlewaretoken" in form, f"a POST form on {url} has no CSRF token"
    assert forms_seen >= 3
