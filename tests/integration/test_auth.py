"""The authentication policy as an attacker meets it: static credentials, accept-all after N
failures on one connection, public keys refused but logged, raw password bytes kept."""

import base64
import subprocess

import paramiko
import pytest

from hermes_helpers import PASSWORD, USER, paramiko_transport, ssh_keygen_fingerprint


def _connect(hermes):
    mark = hermes.mark()
    t = paramiko_transport(hermes.port)
    sid = hermes.session_for_port(t.sock.getsockname()[1], since=mark)
    return t, sid


def test_accept_all_after_three_failures_on_one_connection(hermes):
    t, sid = _connect(hermes)
    try:
        for attempt in (1, 2, 3):
            with pytest.raises(paramiko.AuthenticationException):
                t.auth_password("admin", f"wrong-{attempt}")
            assert t.is_active(), f"server dropped the connection after attempt {attempt}"
            assert not t.is_authenticated()
            ev = hermes.wait_event("login.failed", session=sid, attempt=attempt)
            assert ev["method"] == "password"
            assert ev["username"] == "admin"
            assert ev["password"] == f"wrong-{attempt}"
            assert ev["src_ip"] == "127.0.0.1"
            assert ev["src_port"] == t.sock.getsockname()[1]

        t.auth_password("admin", "yet-another-wrong-one")
        assert t.is_authenticated()
        ok = hermes.wait_event("login.success", session=sid)
        assert ok["method"] == "password"
        assert ok["username"] == "admin"
        assert ok["password"] == "yet-another-wrong-one"
        assert ok["reason"] == "accept_all"
        assert ok["attempt"] == 4
        assert len(hermes.find("login.failed", session=sid)) == 3
    finally:
        t.close()
    closed = hermes.wait_event("session.closed", session=sid, timeout=20)
    assert closed["username"] == "admin"


def test_static_credentials_accepted_at_first_attempt(hermes):
    t, sid = _connect(hermes)
    try:
        t.auth_password(USER, PASSWORD)
        assert t.is_authenticated()
        ok = hermes.wait_event("login.success", session=sid)
        assert (ok["method"], ok["username"], ok["password"]) == ("password", USER, PASSWORD)
        assert ok["reason"] == "static"
        assert ok["attempt"] == 1
        assert not hermes.find("login.failed", session=sid)
    finally:
        t.close()


def test_wrong_password_for_static_user_is_refused(hermes):
    t, sid = _connect(hermes)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password(USER, PASSWORD + "x")
        ev = hermes.wait_event("login.failed", session=sid)
        assert (ev["username"], ev["password"], ev["attempt"]) == (USER, PASSWORD + "x", 1)
    finally:
        t.close()


def test_password_bytes_that_are_not_utf8_are_kept_in_b64(hermes):
    raw = b"bad-\xff\xfe-pw\xc3"
    t, sid = _connect(hermes)
    try:
        # paramiko sends a bytes password as it is (auth_handler: b(password)).
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password(USER, raw)
        ev = hermes.wait_event("login.failed", session=sid)
        assert ev["password_b64"] == base64.b64encode(raw).decode()
        assert base64.b64decode(ev["password_b64"]) == raw
        assert ev["password"].startswith("bad-") and "-pw" in ev["password"]
        assert "\ufffd" in ev["password"]

        # Valid UTF-8 is logged as it is, without a _b64 twin.
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password(USER, "pässwörd-✓")
        ev2 = hermes.wait_event("login.failed", session=sid, attempt=2)
        assert ev2["password"] == "pässwörd-✓"
        assert "password_b64" not in ev2
    finally:
        t.close()


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_public_key_refused_and_fingerprint_logged(hermes, tmp_path, kind):
    key_path = tmp_path / f"id_{kind}"
    extra = ["-b", "2048", "-m", "PEM"] if kind == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", "hermes-test",
                    "-f", str(key_path)], check=True, timeout=60)
    fingerprint, _ = ssh_keygen_fingerprint(f"{key_path}.pub")
    assert fingerprint.startswith("SHA256:")
    key = (paramiko.Ed25519Key if kind == "ed25519" else paramiko.RSAKey) \
        .from_private_key_file(str(key_path))

    t, sid = _connect(hermes)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_publickey(USER, key)
        assert not t.is_authenticated()
        ev = hermes.wait_event("login.failed", session=sid, method="publickey")
        assert ev["fingerprint"] == fingerprint
        assert ev["username"] == USER
        assert kind in ev["key_type"].lower(), ev
        assert "password" not in ev or ev["password"] is None

        # The connection goes on: a password still gets in.
        t.auth_password(USER, PASSWORD)
        assert t.is_authenticated()
        hermes.wait_event("login.success", session=sid)
    finally:
        t.close()


def _keypair(tmp_path, name):
    key_path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_path)],
                   check=True, timeout=60)
    return key_path, ssh_keygen_fingerprint(f"{key_path}.pub")[0]


def test_public_key_policy_listed_and_accept_after_n(hermes_factory, tmp_path):
    listed, listed_fp = _keypair(tmp_path, "id_listed")
    other, other_fp = _keypair(tmp_path, "id_other")
    hermes = hermes_factory.start({"authentication": {
        "accepted_key_fingerprints": [listed_fp], "accept_keys_after": 2}})

    # OpenSSH probes first, then signs: a listed key logs in, once logged.
    mark = hermes.mark()
    r = subprocess.run(["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                        "-o", "IdentitiesOnly=yes", "-i", str(listed), "-p", str(hermes.port),
                        "-T", f"{USER}@127.0.0.1", "echo KEY-IN"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == b"KEY-IN\n", r
    ok = hermes.wait_event("login.success", since=mark)
    assert (ok["method"], ok["fingerprint"], ok["reason"]) == ("publickey", listed_fp, "static")
    assert not hermes.find("login.failed", since=mark)

    # paramiko signs straight away: an unlisted key is refused twice, then accepted.
    key = paramiko.Ed25519Key.from_private_key_file(str(other))
    t, sid = _connect(hermes)
    try:
        for _ in range(2):
            with pytest.raises(paramiko.AuthenticationException):
                t.auth_publickey(USER, key)
        t.auth_publickey(USER, key)
        assert t.is_authenticated()
        fails = hermes.find("login.failed", session=sid)
        assert [e["fingerprint"] for e in fails] == [other_fp, other_fp]
        ok = hermes.wait_event("login.success", session=sid)
        assert (ok["fingerprint"], ok["reason"], ok["attempt"]) == (other_fp, "accept_all", 3)
    finally:
        t.close()
