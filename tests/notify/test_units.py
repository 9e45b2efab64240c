"""The pure parts of notifications: RFC 8291 encryption, VAPID, the address guard, alert texts,
webhook signatures and settings."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from push_service import Browser, b64url
from scoreboard.domain import Event, Match, MatchState, Shootout
from scoreboard.notify.alerts import ALERT_KINDS, alert_kind, build_alert, topic_for
from scoreboard.notify.guard import GuardedResolver, OutboundGuard, OutboundRefused
from scoreboard.notify.signing import signature, verify
from scoreboard.notify.vapid import Vapid, generate_pem, load_private_key, raw_private
from scoreboard.notify.webpush import CURVE, MAX_PLAINTEXT, b64url_decode, encrypt
from scoreboard.settings import SettingsError, load_settings
from support import ROOT


def test_encryption_matches_the_rfc_8291_example() -> None:
    """Appendix A of RFC 8291: same keys, salt and text give the same bytes."""
    server_key = ec.derive_private_key(int.from_bytes(b64url_decode("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"), "big"), CURVE)
    body = encrypt(
        b"When I grow up, I want to be a watermelon",
        b64url_decode("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
        b64url_decode("BTBZMqHH6r4Tts7J_aSIgg"), salt=b64url_decode("DGv6ra1nlYgDCS1FRnbzlw"), private_key=server_key,
    )
    assert b64url(body) == (
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK"
        "6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")


def test_every_message_has_its_own_key_and_decrypts_with_the_browser_key() -> None:
    """Two encryptions of one text differ (fresh key and salt) and http_ece reads both; 4 KB at most."""
    browser = Browser("b", "https://push.example/x")
    keys = browser.subscription()["keys"]
    first = encrypt(b"hello", b64url_decode(keys["p256dh"]), browser.auth)
    second = encrypt(b"hello", b64url_decode(keys["p256dh"]), browser.auth)
    assert first[21:86] != second[21:86] and first[:16] != second[:16]
    for body in (first, second):
        assert http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm") == b"hello"
    assert len(encrypt(b"x" * MAX_PLAINTEXT, b64url_decode(keys["p256dh"]), browser.auth)) == 4096
    with pytest.raises(ValueError):
        encrypt(b"x" * (MAX_PLAINTEXT + 1), b64url_decode(keys["p256dh"]), browser.auth)


def test_vapid_header_is_an_es256_jwt_for_the_endpoint_origin_reused_for_hours() -> None:
    """aud = origin, exp within 24 h, signed by the key in k; one signature per origin for hours."""
    vapid = Vapid.from_text(generate_pem(), "mailto:ops@example.com")
    header = vapid.authorization("https://fcm.googleapis.com/fcm/send/abc", now=1_000_000)
    token = header.split("t=")[1].split(",")[0]
    key = header.split("k=")[1]
    public = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, b64url_decode(key))
    claims = jwt.decode(token, public, algorithms=["ES256"], audience="https://fcm.googleapis.com",
                        options={"verify_exp": False})
    assert claims["sub"] == "mailto:ops@example.com" and 0 < claims["exp"] - 1_000_000 <= 24 * 3600
    assert vapid.authorization("https://fcm.googleapis.com/other", now=1_000_000 + 3600) == header
    assert vapid.authorization("https://updates.push.services.mozilla.com/x", now=1_000_000) != header
    assert vapid.authorization("https://fcm.googleapis.com/x", now=1_000_000 + 12 * 3600) != header


def test_vapid_keys_load_as_pem_or_base64url_and_the_cli_prints_a_pair() -> None:
    """The same key in both encodings; `python -m scoreboard vapid-keys` prints one settings accept."""
    key = load_private_key(generate_pem())
    assert load_private_key(raw_private(key)).private_numbers() == key.private_numbers()
    printed = subprocess.run([sys.executable, "-m", "scoreboard", "vapid-keys"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    value = printed.splitlines()[0].split("=", 1)[1]
    settings = load_settings(env={"SCOREBOARD_VAPID_PRIVATE_KEY": value})
    assert Vapid.from_text(settings.vapid_private_key).public_key in printed
    with pytest.raises(SettingsError, match="vapid_private_key"):
        load_settings(env={"SCOREBOARD_VAPID_PRIVATE_KEY": "not-a-key"})
    with pytest.raises(SettingsError, match="vapid_subject"):
        load_settings(env={"SCOREBOARD_VAPID_SUBJECT": "ops@example.com"})


async def test_guarded_resolver_refuses_names_that_resolve_inward() -> None:
    """A name resolving to loopback is refused at connect time, not only when registered."""
    resolver = GuardedResolver(OutboundGuard(allow_private=False))
    with pytest.raises(OutboundRefused, match="loopback"):
        await resolver.resolve("localhost", 443)
    with pytest.raises(OutboundRefused, match="link-local"):
        await resolver.resolve("169.254.169.254", 80)
    allowed = await GuardedResolver(OutboundGuard(allow_private=True)).resolve("localhost", 443)
    assert allowed and all(r["port"] == 443 for r in allowed)


async def test_a_client_using_the_guard_never_connects_to_a_refused_address() -> None:
    """An aiohttp request to a name that resolves to 127.0.0.1 fails before any connection."""
    import aiohttp

    connector = aiohttp.TCPConnector(resolver=GuardedResolver(OutboundGuard(allow_private=False)))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(OutboundRefused):
            await asyncio.wait_for(session.get("https://localhost:1/"), 5)


MATCH = Match(id="arg-fra", home="Argentina", away="France")


def event(seq: int, kind: str, **fields: object) -> Event:
    return Event(seq=seq, id=f"e{seq}", type=kind, at="2026-11-24T20:00:00Z", fields=fields)


@pytest.mark.parametrize("made, state, kind, title, body", [
    (event(2, "goal", team="away", player="Mbappé", minute=80), MatchState(home=2, away=1, period=2),
     "goal", "GOAL! Argentina 2–1 France", "Mbappé 80'"),
    (event(1, "period_start"), MatchState(period=1), "kickoff", "Kick-off: Argentina v France", "Argentina 0–0 France"),
    (event(3, "period_end"), MatchState(period=1, home=1), "half_time", "Half time: Argentina 1–0 France", ""),
    (event(9, "period_end", final=True), MatchState(period=2, home=3, away=3), "full_time", "Full time: Argentina 3–3 France", ""),
    (event(4, "card", team="home", color="red", player="Otamendi", minute=55), MatchState(period=2),
     "red_card", "Red card: Otamendi (Argentina)", "55' · Argentina 0–0 France"),
    (event(5, "notification", title="Drinks break", text="Play resumes shortly", level="info"), MatchState(),
     "notification", "Drinks break", "Play resumes shortly"),
    (event(6, "card", team="home", color="red", player="Otamendi", minute=92, period=2, minute_label="90+2'"),
     MatchState(period=2), "red_card", "Red card: Otamendi (Argentina)", "90+2' · Argentina 0–0 France"),
    (event(7, "period_start", period=3), MatchState(period=3, status="live"), "kickoff",
     "Extra time: Argentina 0–0 France", "Extra time 1st half is under way"),
    (event(8, "period_end"), MatchState(period=2, status="half_time"), "half_time",
     "End of normal time: Argentina 0–0 France", ""),
    (event(10, "period_end", final=True),
     MatchState(period=5, home=3, away=3, status="finished", shootout=Shootout(4, 2, (), 4)),
     "full_time", "Full time: Argentina 3–3 France", "Argentina win 4–2 on penalties"),
])
def test_alert_texts(made: Event, state: MatchState, kind: str, title: str, body: str) -> None:
    """What a fan reads for each kind of alert, in the same words and minutes as the pages."""
    alert = build_alert(MATCH, made, state)
    assert alert is not None and alert.kind == kind
    message = json.loads(alert.payload)
    assert (message["title"], message["body"]) == (title, body)
    assert message["url"] == "/matches/arg-fra" and message["tag"] == "match-arg-fra"


def test_disallowed_goal_and_quiet_events() -> None:
    """A retracted goal is 'disallowed'; yellow cards, points and retracted cards push nothing."""
    goal = event(2, "goal", team="home", player="Messi", minute=23)
    retract = event(3, "retract", target=2, reason="VAR: offside")
    alert = build_alert(MATCH, retract, MatchState(), goal)
    assert alert is not None and alert.urgency == "high"
    assert json.loads(alert.payload)["body"] == "Messi 23' · VAR: offside"
    assert alert_kind(event(4, "card", team="home", color="yellow")) is None
    assert alert_kind(event(5, "points", team="home", value=3)) is None
    assert alert_kind(retract, event(2, "card", team="home", color="red")) is None
    assert set(ALERT_KINDS) == {"goal", "kickoff", "half_time", "full_time", "red_card", "disallowed", "notification"}
    topic = topic_for("a-very-long-match-id-" * 3)
    assert len(topic) <= 32 and all(c.isalnum() or c in "-_" for c in topic)


def test_webhook_signature_checks_body_secret_and_age() -> None:
    """A signature holds for its body and secret within the tolerance, and for nothing else."""
    body = b'{"seq":1}'
    now = int(time.time())
    header = signature("whsec_x", body, now)
    assert header.startswith(f"t={now},v1=") and verify("whsec_x", body, header)
    assert not verify("whsec_y", body, header)
    assert not verify("whsec_x", b'{"seq":2}', header)
    assert not verify("whsec_x", body, signature("whsec_x", body, now - 600))


def test_the_readme_snippet_verifies_before_and_after_a_secret_rotation() -> None:
    """README "Webhooks" code, run as written: a header with a v1 per secret passes for either
    secret and fails for any other, an old `t` fails, and so does a header with two `t`s."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\nimport hashlib, hmac, time\n\ndef verify(")
    code = readme[start + len("```python\n"):readme.index("```", start + 10)]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    readme_verify = namespace["verify"]
    assert callable(readme_verify)
    body = b'{"seq":1}'
    now = int(time.time())
    both = signature(["whsec_new", "whsec_old"], body, now)
    assert both.count("v1=") == 2 and both.startswith(f"t={now},v1=")
    for check in (readme_verify, verify):
        assert check("whsec_new", body, both) and check("whsec_old", body, both)
        assert not check("whsec_other", body, both)
        assert not check("whsec_new", body, signature(["whsec_new"], body, now - 600))
    assert not verify("whsec_new", body, f"t={now - 600},{both}")
