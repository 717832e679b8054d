#!/usr/bin/python3
"""Self test of fake_jellyfin.py.

Starts the fake as subprocesses (HTTPS with a throw-away certificate, and
HTTP) and checks the behaviours the jellyfin-auth tests rely on: login step
order and status codes, header quirks, token lifetime, the user, password and
API key endpoints, the legacy switch per version, every fault mode and the
state file. Standard library only; exits non-zero on failure.

Usage: /usr/bin/python3 tests/fake-jellyfin/selftest.py [-v]
"""

import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_jellyfin.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

SERVER_ID = "5e1f0a2b3c4d5e6f708192a3b4c5d6e7"
API_KEY = "a" * 32
ADMIN = {"name": "Admin", "id": "0a0a0a0a-0000-4000-8000-000000000001", "password": "adminpw",
         "is_administrator": True, "is_hidden": False}
ALICE = {"name": "alice", "id": "0a0a0a0a-0000-4000-8000-000000000002", "password": "secret"}
PUBLIC = {"name": "visible", "id": "0a0a0a0a-0000-4000-8000-000000000003", "password": "v",
          "is_hidden": False}
N_FORM = re.compile(r"^[0-9a-f]{32}$")
DATE_FORM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")

WORKDIR = None
CA_FILE = None
SERVERS = {}


def n_form(guid):
    return uuid.UUID(guid).hex


def data_file(name, lan_networks=None):
    server = {"name": "Test Jellyfin", "id": SERVER_ID, "legacy_authorization": None}
    if lan_networks is not None:
        server["lan_networks"] = lan_networks
    path = os.path.join(WORKDIR, name + ".json")
    with open(path, "w", encoding="utf-8") as stream:
        json.dump({"server": server, "api_keys": [{"key": API_KEY, "app": "jellyfin-auth"}],
                   "users": [ADMIN, ALICE, PUBLIC]}, stream)
    return path


def auth_header(token=None, **fields):
    """Canonical MediaBrowser header; fields default to a complete client identity."""
    values = {"Client": "selftest", "Device": "host1", "DeviceId": "dev-1", "Version": "1.0"}
    values.update(fields)
    if token is not None:
        values["Token"] = token
    return "MediaBrowser " + ", ".join(
        f'{key}="{urllib.parse.quote(value, safe="")}"' for key, value in values.items()
        if value is not None)


class Result:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def content_type(self):
        return self.headers.get("Content-Type") or ""


class Fake:
    """One fake_jellyfin.py subprocess."""

    def __init__(self, name, data, version="12.0", tls=False, extra=()):
        self.name = name
        self.tls = tls
        self.port_file = os.path.join(WORKDIR, name + ".port")
        self.log_file = os.path.join(WORKDIR, name + ".log")
        command = [PYTHON, FAKE, "--data", data, "--port-file", self.port_file,
                   "--version", version, "--log", self.log_file, *extra]
        if tls:
            command += ["--tls-cert", os.path.join(WORKDIR, "cert.pem"),
                        "--tls-key", os.path.join(WORKDIR, "key.pem")]
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + 10
        while not (os.path.exists(self.port_file) and os.path.getsize(self.port_file)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"fake {name} did not start")
            time.sleep(0.02)
        with open(self.port_file, encoding="utf-8") as stream:
            self.port_text = stream.read()
        self.port = int(self.port_text)

    def stop(self):
        """SIGTERM, then the exit status (killed after 10 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def connection(self, timeout=5):
        if self.tls:
            context = ssl.create_default_context(cafile=CA_FILE)
            return http.client.HTTPSConnection("localhost", self.port, timeout=timeout,
                                               context=context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=5):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if body is not None and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        connection = self.connection(timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Result(response.status, response.headers, response.read())
        finally:
            connection.close()

    def call(self, method, path, token=None, body=None, headers=None):
        """A request with a token in the Authorization header."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f'MediaBrowser Token="{token}"'
        return self.request(method, path, body=body, headers=headers)

    def login(self, username, password, header=None, **fields):
        return self.request("POST", "/Users/AuthenticateByName",
                            body={"Username": username, "Pw": password},
                            headers={"Authorization": header or auth_header(**fields)})

    def token(self, username, password, **fields):
        result = self.login(username, password, **fields)
        if result.status != 200:
            raise AssertionError(f"login of {username} gave {result.status}")
        return result.json["AccessToken"]

    def control(self, path, body=None):
        return self.request("POST" if body is not None else "GET", "/__fake/" + path, body=body)

    def state(self):
        return self.control("state").json

    def tokens(self):
        return {entry["token"] for entry in self.control("tokens").json}

    def new_user(self, **fields):
        """Upsert a fresh user (unique name and id) and return its data."""
        user = {"name": "u" + uuid.uuid4().hex[:8], "id": str(uuid.uuid4()), "password": "pw"}
        user.update(fields)
        result = self.control("users", {"upsert": [user]})
        assert result.status == 204, result.body
        return user

    def patch_user(self, user, **fields):
        assert self.control("users", {"upsert": [{"id": user["id"], **fields}]}).status == 204

    def set_fault(self, **spec):
        result = self.control("fault", spec)
        assert result.status == 204, result.body


def setUpModule():  # pylint: disable=invalid-name
    global WORKDIR, CA_FILE  # pylint: disable=global-statement
    WORKDIR = tempfile.mkdtemp(prefix="fake-jellyfin-selftest-")
    unittest.addModuleCleanup(shutil.rmtree, WORKDIR, ignore_errors=True)
    unittest.addModuleCleanup(stop_all)
    CA_FILE = os.path.join(WORKDIR, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", os.path.join(WORKDIR, "key.pem"), "-out", CA_FILE],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Loopback is outside the LAN of the main server, so remote-access rules apply to it.
    SERVERS["main"] = Fake("main", data_file("main", ["192.168.0.0/16"]), tls=True)
    SERVERS["v1011"] = Fake("v1011", data_file("v1011"), version="10.11")
    SERVERS["v1010"] = Fake("v1010", data_file("v1010"), version="10.10")
    SERVERS["faults"] = Fake("faults", data_file("faults"))
    SERVERS["qc"] = Fake("qc", data_file("qc"))


def stop_all():
    for fake in SERVERS.values():
        fake.stop()


def walk(value):
    """Every (key, value) pair of a JSON document, recursively."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


class FakeTestCase(unittest.TestCase):
    server = "main"

    @property
    def fake(self):
        return SERVERS[self.server]

    def assert_plain_error(self, result, status):
        self.assertEqual(result.status, status, result.body)
        self.assertEqual(result.body, b"Error processing request.")
        self.assertTrue(result.content_type.startswith("text/plain"))

    def assert_empty(self, result, status):
        self.assertEqual((result.status, result.body), (status, b""))

    def assert_problem(self, result, status=400):
        self.assertEqual(result.status, status, result.body)
        self.assertEqual(result.json["status"], status)
        self.assertIn("traceId", result.json)


class LoginTests(FakeTestCase):
    """POST /Users/AuthenticateByName on the HTTPS 12.0 server."""

    def test_each_missing_client_field_is_400(self):
        user = self.fake.new_user()
        for field in ("Client", "Device", "DeviceId", "Version"):
            with self.subTest(field=field):
                header = auth_header(**{field: None})
                self.assert_plain_error(self.fake.login(user["name"], "wrong", header), 400)
        self.assert_plain_error(self.fake.request(
            "POST", "/Users/AuthenticateByName", body={"Username": user["name"], "Pw": "pw"}), 400)
        self.assert_plain_error(self.fake.login(user["name"], "pw", 'Bearer Client="x"'), 400)
        counts = {u["id"]: u["invalid_login_attempt_count"] for u in self.fake.state()["users"]}
        self.assertEqual(counts[n_form(user["id"])], 0)  # the check runs before any lookup

    def test_header_quirks(self):
        user = self.fake.new_user()
        unquoted = "MediaBrowser Client=selftest, Device=host1, DeviceId=dev-unq, Version=1.0"
        result = self.fake.login(user["name"], "pw", unquoted)
        self.assertEqual(result.status, 200)
        token = result.json["AccessToken"]
        me = self.fake.request("GET", "/Users/Me",
                               headers={"Authorization": f"MediaBrowser Token={token}"})
        self.assertEqual(me.status, 200)
        lower_key = 'MediaBrowser client="selftest", Device="h", DeviceId="d", Version="1"'
        self.assert_plain_error(self.fake.login(user["name"], "pw", lower_key), 400)
        quirky = ('mediabrowser Client="self+test", Device="a,b", DeviceId="%22q%22", '
                  'Version="1", Version="2"')
        session = self.fake.login(user["name"], "pw", quirky).json["SessionInfo"]
        self.assertEqual((session["Client"], session["DeviceName"], session["DeviceId"],
                          session["ApplicationVersion"]), ("self test", "a,b", '"q"', "2"))
        emby = 'Emby Client="c", Device="d", DeviceId="e", Version="1"'
        self.assert_plain_error(self.fake.login(user["name"], "pw", emby), 400)

    def test_unknown_user_and_wrong_password_are_401(self):
        self.assert_plain_error(self.fake.login("nobody-" + uuid.uuid4().hex, "x"), 401)
        user = self.fake.new_user()
        self.assert_plain_error(self.fake.login(user["name"].upper(), "wrong"), 401)
        self.assertEqual(self.fake.login(user["name"].upper(), "pw").json["User"]["Name"],
                         user["name"])

    def test_disabled_user_is_403_whatever_the_password(self):
        user = self.fake.new_user(is_disabled=True)
        self.assert_plain_error(self.fake.login(user["name"], "pw"), 403)
        self.assert_plain_error(self.fake.login(user["name"], "wrong"), 403)

    def test_lockout_after_n_failures(self):
        user = self.fake.new_user(login_attempts_before_lockout=3)
        for _ in range(3):
            self.assert_plain_error(self.fake.login(user["name"], "wrong"), 401)
        self.assert_plain_error(self.fake.login(user["name"], "pw"), 403)
        entry = next(u for u in self.fake.state()["users"] if u["id"] == n_form(user["id"]))
        self.assertEqual((entry["is_disabled"], entry["invalid_login_attempt_count"]), (True, 3))

    def test_success_resets_the_failure_counter(self):
        user = self.fake.new_user(login_attempts_before_lockout=2)
        self.assert_plain_error(self.fake.login(user["name"], "wrong"), 401)
        self.assertEqual(self.fake.login(user["name"], "pw").status, 200)
        self.assert_plain_error(self.fake.login(user["name"], "wrong"), 401)
        self.assertEqual(self.fake.login(user["name"], "pw").status, 200)

    def test_remote_access_denied_outside_lan(self):
        user = self.fake.new_user(enable_remote_access=False)
        self.assert_plain_error(self.fake.login(user["name"], "pw"), 403)
        self.assert_plain_error(self.fake.login(user["name"], "wrong"), 403)
        self.assertEqual(SERVERS["v1011"].login(ALICE["name"], "secret").status, 200)
        other = self.fake.new_user()
        token = self.fake.token(other["name"], "pw")
        self.fake.patch_user(other, enable_remote_access=False)
        self.assert_empty(self.fake.call("GET", "/Users/Me", token), 403)

    def test_access_schedule(self):
        day = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
               "Saturday")[(datetime.datetime.now().isoweekday() + 3) % 7]
        never = self.fake.new_user(access_schedules=[
            {"DayOfWeek": day, "StartHour": 0, "EndHour": 24}])
        self.assert_plain_error(self.fake.login(never["name"], "pw"), 403)
        always = self.fake.new_user(access_schedules=[
            {"DayOfWeek": "Everyday", "StartHour": 0, "EndHour": 24}])
        self.assertEqual(self.fake.login(always["name"], "pw").status, 200)

    def test_device_and_session_limits(self):
        user = self.fake.new_user(enable_all_devices=False, enabled_devices=["dev-ok"])
        self.assert_plain_error(self.fake.login(user["name"], "pw", DeviceId="dev-no"), 403)
        self.assertEqual(self.fake.login(user["name"], "pw", DeviceId="dev-ok").status, 200)
        limited = self.fake.new_user(max_active_sessions=1)
        token = self.fake.token(limited["name"], "pw", DeviceId="s1")
        self.assert_plain_error(self.fake.login(limited["name"], "pw", DeviceId="s2"), 403)
        self.assert_plain_error(self.fake.login(limited["name"], "pw", DeviceId="s1"), 403)
        self.assertEqual(self.fake.call("POST", "/Sessions/Logout", token).status, 204)
        self.assertEqual(self.fake.login(limited["name"], "pw", DeviceId="s2").status, 200)

    def test_passwordless_user(self):
        user = self.fake.new_user(password="")
        self.assertEqual(self.fake.login(user["name"], "").status, 200)
        self.assertEqual(self.fake.login(user["name"], None).status, 200)
        self.assert_plain_error(self.fake.login(user["name"], "something"), 401)
        with_password = self.fake.new_user()
        self.assert_plain_error(self.fake.login(with_password["name"], None), 401)

    def test_success_shape(self):
        result = self.fake.login(ALICE["name"], "secret", DeviceId="shape-dev")
        self.assertEqual(result.status, 200)
        self.assertEqual(result.content_type, "application/json; charset=utf-8")
        document = result.json
        self.assertEqual(set(document), {"User", "SessionInfo", "AccessToken", "ServerId"})
        user, session = document["User"], document["SessionInfo"]
        self.assertEqual(user["Id"], n_form(ALICE["id"]))
        self.assertRegex(document["AccessToken"], N_FORM)
        self.assertEqual(document["ServerId"], SERVER_ID)
        self.assertEqual(self.fake.request("GET", "/System/Info/Public").json["Id"], SERVER_ID)
        self.assertTrue(user["HasPassword"])
        self.assertFalse(user["Policy"]["IsAdministrator"])
        self.assertTrue(user["Policy"]["IsHidden"])
        self.assertEqual(user["Policy"]["LoginAttemptsBeforeLockout"], -1)
        self.assertNotIn("ServerName", user)
        self.assertRegex(user["LastLoginDate"], DATE_FORM)
        expected_session = uuid.UUID(bytes_le=hashlib.md5(
            "selftestshape-dev".encode("utf-16-le")).digest()).hex
        self.assertEqual((session["Id"], session["UserId"], session["DeviceId"]),
                         (expected_session, user["Id"], "shape-dev"))
        for key, value in walk(document):
            self.assertTrue(key[0].isupper(), key)
            self.assertIsNotNone(value, key)

    def test_camel_case_on_request(self):
        result = self.fake.request(
            "POST", "/Users/AuthenticateByName", body={"Username": "alice", "Pw": "secret"},
            headers={"Authorization": auth_header(DeviceId="camel"),
                     "Accept": 'application/json; profile="CamelCase"'})
        self.assertIn("accessToken", result.json)
        self.assertIn("isAdministrator", result.json["user"]["policy"])

    def test_body_binding(self):
        header = {"Authorization": auth_header(DeviceId="body")}
        path = "/Users/AuthenticateByName"
        text = self.fake.request("POST", path, body='{"Username":"alice","Pw":"secret"}',
                                 headers={**header, "Content-Type": "text/plain"})
        self.assertEqual(text.status, 415)
        json_type = {**header, "Content-Type": "application/json"}
        self.assert_problem(self.fake.request("POST", path, body="", headers=json_type))
        self.assert_problem(self.fake.request("POST", path, body="null", headers=header))
        self.assert_problem(self.fake.request("POST", path, body={"Username": 5}, headers=header))
        lower = self.fake.request("POST", path, body={"username": "alice", "pw": "secret",
                                                      "Password": "ignored"},
                                  headers={**header, "Content-Type": "application/vnd.x+json"})
        self.assertEqual(lower.status, 200)
        self.assert_plain_error(self.fake.login("   ", "x"), 400)

    def test_relogin_on_same_device_revokes_old_token(self):
        user = self.fake.new_user()
        first = self.fake.token(user["name"], "pw", DeviceId="same")
        other = self.fake.token(user["name"], "pw", DeviceId="other")
        second = self.fake.token(user["name"], "pw", DeviceId="same")
        self.assert_empty(self.fake.call("GET", "/Users/Me", first), 401)
        for token in (second, other):
            self.assertEqual(self.fake.call("GET", "/Users/Me", token).status, 200)

    def test_logout_deletes_the_device(self):
        user = self.fake.new_user()
        token = self.fake.token(user["name"], "pw", DeviceId="bye")
        self.assertIn(token, self.fake.tokens())
        self.assert_empty(self.fake.call("POST", "/Sessions/Logout", token), 204)
        self.assertNotIn(token, self.fake.tokens())
        self.assertNotIn("bye", [s["device_id"] for s in self.fake.state()["sessions"]])
        self.assert_empty(self.fake.call("GET", "/Users/Me", token), 401)
        self.assert_empty(self.fake.call("POST", "/Sessions/Logout"), 401)
        self.assert_empty(self.fake.call("POST", "/Sessions/Logout", "f" * 32), 401)

    def test_disabled_users_token_is_401_until_reenabled(self):
        user = self.fake.new_user()
        token = self.fake.token(user["name"], "pw")
        self.fake.patch_user(user, is_disabled=True)
        self.assert_empty(self.fake.call("GET", "/Users/Me", token), 401)
        self.fake.patch_user(user, is_disabled=False)
        self.assertEqual(self.fake.call("GET", "/Users/Me", token).status, 200)


class QuickConnectTests(FakeTestCase):
    """Quick Connect (jellyfin-api.md section 11) on its own HTTP 12.0 server: these tests
    switch it off and move its Quick Connect clock."""

    server = "qc"

    def setUp(self):
        self.assertEqual(self.fake.control("server", {"quick_connect": True}).status, 204)

    def initiate(self, **fields):
        result = self.fake.request("POST", "/QuickConnect/Initiate",
                                   headers={"Authorization": auth_header(**fields)})
        self.assertEqual(result.status, 200, result.body)
        return result.json

    def connect(self, secret):
        return self.fake.request("GET", "/QuickConnect/Connect?secret=" + secret)

    def redeem(self, secret):
        return self.fake.request("POST", "/Users/AuthenticateWithQuickConnect",
                                 body={"Secret": secret})

    def approve(self, code, user):
        return self.fake.control("quick-connect", {"code": code, "user": user})

    def test_enabled_switch(self):
        result = self.fake.request("GET", "/QuickConnect/Enabled")
        self.assertEqual((result.status, result.json), (200, True))
        self.assertEqual(self.fake.control("server", {"quick_connect": False}).status, 204)
        self.assertIs(self.fake.request("GET", "/quickconnect/enabled").json, False)
        result = self.fake.request("POST", "/QuickConnect/Initiate",
                                   headers={"Authorization": auth_header()})
        self.assertEqual((result.status, result.json), (401, "Quick connect is disabled"))
        self.assertEqual(self.connect("0" * 64).status, 401)

    def test_flow_and_result_shape(self):
        user = self.fake.new_user()
        started = self.initiate(DeviceId="qc-dev", Device="box", Client="pam_x", Version="9")
        self.assertRegex(started["Code"], r"^[0-9]{6}$")
        self.assertRegex(started["Secret"], r"^[0-9a-f]{64}$")
        self.assertEqual((started["Authenticated"], started["DeviceId"], started["DeviceName"],
                          started["AppName"], started["AppVersion"]),
                         (False, "qc-dev", "box", "pam_x", "9"))
        self.assertRegex(started["DateAdded"], DATE_FORM)
        self.assertIs(self.connect(started["Secret"]).json["Authenticated"], False)
        self.assert_plain_error(self.redeem(started["Secret"]), 404)   # not yet approved
        listed = {r["code"]: r for r in self.fake.control("quick-connect").json}
        self.assertNotIn("secret", listed[started["Code"]])
        self.assertEqual(self.approve(started["Code"], user["name"]).status, 204)
        self.assertIs(self.connect(started["Secret"]).json["Authenticated"], True)
        result = self.redeem(started["Secret"])
        self.assertEqual(result.status, 200, result.body)
        self.assertEqual(result.json["User"]["Id"], n_form(user["id"]))
        token = result.json["AccessToken"]
        self.assertEqual(self.fake.call("GET", "/Users/Me", token).json["Name"], user["name"])
        device = [d for d in self.fake.control("tokens").json if d["token"] == token][0]
        self.assertEqual((device["device_id"], device["client"]), ("qc-dev", "pam_x"))
        # approving twice is an InvalidOperationException
        self.assertEqual(self.approve(started["Code"], user["name"]).status, 400)

    def test_missing_client_field_and_unknown_secret(self):
        for field in ("Client", "Device", "DeviceId", "Version"):
            with self.subTest(field=field):
                self.assert_plain_error(self.fake.request(
                    "POST", "/QuickConnect/Initiate",
                    headers={"Authorization": auth_header(**{field: None})}), 400)
        self.assertEqual((self.connect("f" * 64).status, self.connect("f" * 64).json),
                         (404, "Unknown secret"))
        self.assert_problem(self.fake.request("GET", "/QuickConnect/Connect"))
        self.assert_plain_error(self.redeem("f" * 64), 404)
        self.assert_problem(self.fake.request("POST", "/Users/AuthenticateWithQuickConnect",
                                              body={}))

    def test_authorize_endpoint_rights(self):
        admin = self.fake.token(ADMIN["name"], ADMIN["password"])
        alice = self.fake.token(ALICE["name"], ALICE["password"])
        started = self.initiate()
        path = "/QuickConnect/Authorize?code=" + started["Code"]
        self.assertEqual(self.fake.call("POST", path).status, 401)
        self.assertEqual(self.fake.call("POST", path + "&userId=" + ADMIN["id"], alice).status,
                         403)
        self.assert_plain_error(self.fake.call("POST", "/QuickConnect/Authorize?code=x", alice),
                                404)
        # an administrator approves as another user
        result = self.fake.call("POST", path + "&userId=" + ALICE["id"], admin)
        self.assertEqual((result.status, result.json), (200, True))
        self.assert_plain_error(self.fake.call("POST", path, admin), 500)
        redeemed = self.redeem(started["Secret"]).json
        self.assertEqual(redeemed["User"]["Id"], n_form(ALICE["id"]))

    def test_no_policy_checks_on_approval(self):
        user = self.fake.new_user(is_disabled=True, enable_remote_access=False)
        started = self.initiate()
        self.assertEqual(self.approve(started["Code"], user["id"]).status, 204)
        result = self.redeem(started["Secret"]).json
        self.assertIs(result["User"]["Policy"]["IsDisabled"], True)
        # but device access is checked
        other = self.fake.new_user(enable_all_devices=False)
        started = self.initiate(DeviceId="not-allowed")
        self.assertEqual(self.approve(started["Code"], other["name"]).status, 400)
        self.assertIs(self.connect(started["Secret"]).json["Authenticated"], False)

    def test_expiry(self):
        user = self.fake.new_user()
        stale = self.initiate()
        self.assertEqual(self.fake.control("quick-connect", {"advance": 599}).status, 204)
        self.assertEqual(self.connect(stale["Secret"]).status, 200)
        self.fake.control("quick-connect", {"advance": 2})
        self.assertEqual(self.connect(stale["Secret"]).status, 404)
        self.assertEqual(self.approve(stale["Code"], user["name"]).status, 400)
        # approved: one minute left to poll, the result stays redeemable for ten
        started = self.initiate()
        self.fake.control("quick-connect", {"advance": 500})
        self.assertEqual(self.approve(started["Code"], user["name"]).status, 204)
        self.fake.control("quick-connect", {"advance": 59})
        self.assertIs(self.connect(started["Secret"]).json["Authenticated"], True)
        self.fake.control("quick-connect", {"advance": 2})
        self.assertEqual(self.connect(started["Secret"]).status, 404)
        self.assertEqual(self.redeem(started["Secret"]).status, 200)
        self.fake.control("quick-connect", {"advance": 540})
        self.assertEqual(self.redeem(started["Secret"]).status, 404)

    def test_get_initiate_only_before_12(self):
        self.assertEqual(self.fake.request("GET", "/QuickConnect/Initiate",
                                           headers={"Authorization": auth_header()}).status, 405)
        result = SERVERS["v1011"].request("GET", "/QuickConnect/Initiate",
                                          headers={"Authorization": auth_header()})
        self.assertEqual(result.status, 200)

    def test_control_errors(self):
        self.assertEqual(self.approve("000000", "nobody").status, 400)
        self.assertEqual(self.fake.control("quick-connect", {"advance": "x"}).status, 400)


class UserApiTests(FakeTestCase):
    """Users, passwords, policies and API keys on the HTTPS 12.0 server."""

    def test_api_key_rights(self):
        listed = self.fake.call("GET", "/Users", API_KEY)
        self.assertEqual(listed.status, 200)
        names = [u["Name"] for u in listed.json]
        self.assertIn("alice", names)  # hidden users are listed
        self.assertEqual(names, sorted(names, key=str.casefold))
        visible = [u["Name"] for u in self.fake.call("GET", "/Users?isHidden=false", API_KEY).json]
        self.assertNotIn("alice", visible)
        self.assertIn("visible", visible)
        self.assert_problem(self.fake.call("GET", "/Users/Me", API_KEY))
        before = self.fake.tokens()
        self.assert_empty(self.fake.call("POST", "/Sessions/Logout", API_KEY), 204)
        self.assertEqual(self.fake.tokens(), before)
        self.assert_empty(self.fake.call("GET", "/Users"), 401)
        self.assertEqual(self.fake.request("GET", f"/Users?ApiKey={API_KEY}").status, 200)
        user = self.fake.new_user()
        user_token = self.fake.token(user["name"], "pw")
        self.assertEqual(self.fake.call("GET", "/users", user_token).status, 200)

    def test_user_lookup(self):
        dashed = self.fake.call("GET", "/Users/" + ALICE["id"], API_KEY)
        self.assertEqual(dashed.json["Id"], n_form(ALICE["id"]))
        missing = self.fake.call("GET", "/Users/" + uuid.uuid4().hex, API_KEY)
        self.assertEqual((missing.status, missing.json), (404, "User not found"))
        self.assert_problem(self.fake.call("GET", "/Users/not-a-guid", API_KEY))
        self.assert_plain_error(self.fake.call("GET", "/Users/" + "0" * 32, API_KEY), 400)
        public = [u["Name"] for u in self.fake.request("GET", "/Users/Public").json]
        self.assertEqual(public, ["Admin", "visible"])

    def test_password_change_rules(self):
        user = self.fake.new_user(password="old")
        own_a = self.fake.token(user["name"], "old", DeviceId="pa")
        own_b = self.fake.token(user["name"], "old", DeviceId="pb")
        wrong = self.fake.call("POST", "/Users/Password", own_a, {"CurrentPw": "bad", "NewPw": "x"})
        self.assertEqual((wrong.status, wrong.json), (403, "Invalid user or password entered."))
        entry = next(u for u in self.fake.state()["users"] if u["id"] == n_form(user["id"]))
        self.assertEqual(entry["invalid_login_attempt_count"], 1)
        self.assert_empty(self.fake.call("POST", "/Users/Password", own_a,
                                         {"CurrentPw": "old", "NewPw": "new"}), 204)
        self.assertEqual(self.fake.call("GET", "/Users/Me", own_a).status, 200)
        self.assert_empty(self.fake.call("GET", "/Users/Me", own_b), 401)
        self.assertEqual(self.fake.login(user["name"], "new").status, 200)
        other = self.fake.new_user()
        self.assertEqual(self.fake.call("POST", f"/Users/Password?userId={other['id']}", own_a,
                                        {"CurrentPw": "new", "NewPw": "z"}).status, 403)
        self.assert_plain_error(self.fake.call("POST", "/Users/Password", API_KEY, {"NewPw": "k"}),
                                400)
        self.assert_empty(self.fake.call("POST", f"/Users/Password?userId={user['id']}", API_KEY,
                                         {"NewPw": "bykey"}), 204)
        self.assert_empty(self.fake.call("GET", "/Users/Me", own_a), 401)
        fresh = self.fake.token(user["name"], "bykey")
        self.assert_empty(self.fake.call("POST", f"/Users/{user['id']}/Password", API_KEY,
                                         {"ResetPassword": True}), 204)
        self.assertEqual(self.fake.call("GET", "/Users/Me", fresh).status, 200)
        self.assertEqual(self.fake.login(user["name"], "").status, 200)
        locked = self.fake.new_user(enable_user_preference_access=False)
        token = self.fake.token(locked["name"], "pw")
        self.assertEqual(self.fake.call("POST", "/Users/Password", token,
                                        {"CurrentPw": "pw", "NewPw": "q"}).status, 403)
        admin = self.fake.token(ADMIN["name"], ADMIN["password"], DeviceId="admin-pw")
        self.assert_plain_error(self.fake.call("POST", "/Users/Password", admin, {"NewPw": ""}),
                                400)

    def test_user_management(self):
        admin = self.fake.token(ADMIN["name"], ADMIN["password"], DeviceId="admin-mgmt")
        name = "New " + uuid.uuid4().hex[:6]
        created = self.fake.call("POST", "/Users/New", admin, {"Name": name, "Password": "np"})
        self.assertEqual(created.status, 200)
        user_id = created.json["Id"]
        self.assertTrue(created.json["Policy"]["IsHidden"])
        self.assert_plain_error(self.fake.call("POST", "/Users/New", admin, {"Name": name.upper()}),
                                400)
        self.assert_plain_error(self.fake.call("POST", "/Users/New", admin, {"Name": "bad/name"}),
                                400)
        self.assert_problem(self.fake.call("POST", "/Users/New", admin, {}))
        token = self.fake.token(name, "np")
        self.assert_empty(self.fake.call("POST", "/Users/New", token, {"Name": "x"}), 403)
        renamed = name + " renamed"
        self.assert_empty(self.fake.call("POST", f"/Users?userId={user_id}", token,
                                         {"Name": renamed}), 204)
        self.assertEqual(self.fake.call("GET", "/Users/Me", token).json["Name"], renamed)
        policy = {"IsDisabled": True, "AuthenticationProviderId": "p",
                  "PasswordResetProviderId": "r"}
        self.assert_problem(self.fake.call("POST", f"/Users/{user_id}/Policy", admin,
                                           {"IsDisabled": True}))
        self.assert_empty(self.fake.call("POST", f"/Users/{user_id}/Policy", admin, policy), 204)
        self.assertNotIn(token, self.fake.tokens())
        self.assertEqual(self.fake.call("GET", "/Users/Me", admin).status, 200)
        self.assert_empty(self.fake.call("DELETE", f"/Users/{user_id}", admin), 204)
        self.assert_problem(self.fake.call("DELETE", f"/Users/{user_id}", admin), 404)

    def test_api_keys(self):
        app = "app-" + uuid.uuid4().hex[:6]
        self.assert_empty(self.fake.call("POST", f"/Auth/Keys?app={app}", API_KEY), 204)
        items = self.fake.call("GET", "/Auth/Keys", API_KEY).json["Items"]
        key = next(item["AccessToken"] for item in items if item["AppName"] == app)
        self.assertEqual(self.fake.call("GET", "/Users", key).status, 200)
        self.assert_empty(self.fake.call("DELETE", f"/Auth/Keys/{key}", API_KEY), 204)
        self.assert_empty(self.fake.call("DELETE", f"/Auth/Keys/{key}", API_KEY), 204)
        self.assert_empty(self.fake.call("GET", "/Users", key), 401)
        self.assert_problem(self.fake.call("POST", "/Auth/Keys", API_KEY))
        user = self.fake.new_user()
        self.assert_empty(self.fake.call("GET", "/Auth/Keys", self.fake.token(user["name"], "pw")),
                          403)
        self.assert_empty(self.fake.call("GET", "/Auth/Keys"), 401)

    def test_system_and_routing(self):
        info = self.fake.request("GET", "/system/info/public")
        self.assertEqual((info.json["Version"], info.json["ProductName"]),
                         ("12.0.0", "Jellyfin Server"))
        self.assertEqual(self.fake.request("POST", "/System/Ping").json, "Jellyfin Server")
        self.assert_empty(self.fake.request("GET", "/No/Such/Route"), 404)
        self.assertEqual(self.fake.request("PUT", "/System/Ping").status, 405)


class VersionTests(FakeTestCase):
    """The legacy switch and name rules of 12.0, 10.11 and 10.10."""

    def test_legacy_sources_ignored_in_12(self):
        user = self.fake.new_user()
        emby = {"X-Emby-Authorization": auth_header()}
        self.assert_plain_error(self.fake.request(
            "POST", "/Users/AuthenticateByName", body={"Username": user["name"], "Pw": "pw"},
            headers=emby), 400)
        token = self.fake.token(user["name"], "pw")
        self.assert_empty(self.fake.request("GET", "/Users/Me",
                                            headers={"X-Emby-Token": token}), 401)
        self.assert_empty(self.fake.request("GET", f"/Users?api_key={API_KEY}"), 401)

    def test_legacy_sources_honoured_in_10_11(self):
        fake = SERVERS["v1011"]
        login = fake.request("POST", "/Users/AuthenticateByName",
                             body={"Username": "alice", "Pw": "secret"},
                             headers={"X-Emby-Authorization": auth_header()})
        self.assertEqual(login.status, 200)
        token = login.json["AccessToken"]
        self.assertEqual(fake.request("GET", "/Users/Me", headers={"X-Emby-Token": token}).status,
                         200)
        self.assertEqual(fake.request("GET", f"/Users?api_key={API_KEY}").status, 200)
        try:
            self.assertEqual(fake.control("server", {"legacy_authorization": False}).status, 204)
            self.assert_empty(fake.request("GET", f"/Users?api_key={API_KEY}"), 401)
        finally:
            fake.control("server", {"legacy_authorization": None})

    def test_lockout_is_not_saved_in_10_11_11(self):
        fake = SERVERS["v1011"]
        user = fake.new_user(login_attempts_before_lockout=1)
        self.assert_plain_error(fake.login(user["name"], "wrong"), 401)
        self.assertEqual(fake.login(user["name"], "pw").status, 200)

    def test_10_10_reads_x_emby_authorization_first(self):
        fake = SERVERS["v1010"]
        headers = {"X-Emby-Authorization": auth_header(), "Authorization": "MediaBrowser Client=x"}
        body = {"Username": "alice", "Pw": "secret"}
        self.assertEqual(fake.request("POST", "/Users/AuthenticateByName", body=body,
                                      headers=headers).status, 200)
        self.assertEqual(SERVERS["v1011"].request("POST", "/Users/AuthenticateByName", body=body,
                                                  headers=headers).status, 400)
        emby = 'Emby Client="c", Device="d", DeviceId="e", Version="1"'
        self.assertEqual(fake.login("alice", "secret", emby).status, 200)

    def test_name_rules_per_version(self):
        plus = "plus+" + uuid.uuid4().hex[:6]
        self.assert_plain_error(SERVERS["v1010"].call("POST", "/Users/New", API_KEY,
                                                      {"Name": plus}), 400)
        self.assertEqual(SERVERS["v1011"].call("POST", "/Users/New", API_KEY,
                                               {"Name": plus}).status, 200)
        self.assert_plain_error(self.fake.call("POST", "/Users/New", API_KEY, {"Name": ".."}), 400)
        self.assert_plain_error(self.fake.call("POST", "/Users/New", API_KEY, {"Name": " x"}), 400)
        self.assertEqual(SERVERS["v1010"].request("GET", "/System/Info/Public").json["Version"],
                         "10.10.7")


class FaultTests(FakeTestCase):
    """Every fault mode, on the HTTP server (and HTTPS where the transport matters)."""

    server = "faults"

    def tearDown(self):
        for fake in SERVERS.values():
            fake.set_fault(mode="none")

    def test_hang_blocks_nothing_else(self):
        for fake in (self.fake, SERVERS["main"]):
            with self.subTest(server=fake.name):
                fake.set_fault(mode="hang", paths=["/System/Ping"])
                idle = socket.create_connection(("127.0.0.1", fake.port))  # no TLS handshake
                try:
                    started = time.monotonic()
                    with self.assertRaises(TimeoutError):
                        fake.request("GET", "/System/Ping", timeout=1)
                    self.assertLess(time.monotonic() - started, 3)
                    self.assertEqual(fake.request("GET", "/System/Info/Public").status, 200)
                    self.assertEqual(fake.control("state").status, 200)
                finally:
                    idle.close()
                fake.set_fault(mode="none")
                self.assertEqual(fake.request("GET", "/System/Ping").status, 200)

    def test_slow(self):
        self.fake.set_fault(mode="slow", delay=1)
        started = time.monotonic()
        self.assertEqual(self.fake.request("GET", "/System/Ping").status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.9)

    def test_slow_body(self):
        self.fake.set_fault(mode="slow_body")
        connection = self.fake.connection(timeout=5)
        try:
            connection.request("GET", "/System/Info/Public")
            started = time.monotonic()
            response = connection.getresponse()
            self.assertEqual(response.status, 200)
            self.assertGreater(int(response.headers["Content-Length"]), 10)
            self.assertEqual(response.read(2), b'{"')
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
        finally:
            connection.close()

    def test_status_faults(self):
        for mode in ("500", "502", "503"):
            with self.subTest(mode=mode):
                self.fake.set_fault(mode=mode, count=1)
                self.assertEqual(self.fake.request("GET", "/System/Ping").status, int(mode))
                self.assertEqual(self.fake.request("GET", "/System/Ping").status, 200)

    def test_count_and_paths(self):
        self.fake.set_fault(mode="503", count=2, paths=["/system/ping"])
        self.assertEqual(self.fake.request("GET", "/System/Info/Public").status, 200)
        statuses = [self.fake.request("GET", "/System/Ping").status for _ in range(3)]
        self.assertEqual(statuses, [503, 503, 200])
        self.assertEqual(self.fake.control("fault", {"mode": "bogus"}).status, 400)

    def test_malformed_wrong_types_and_empty(self):
        self.fake.set_fault(mode="malformed")
        result = self.fake.login("alice", "secret")
        self.assertEqual(result.status, 200)
        self.assertRaises(ValueError, json.loads, result.body)
        self.fake.set_fault(mode="wrong_types")
        document = self.fake.login("alice", "secret").json
        self.assertEqual((document["User"], document["AccessToken"]), ([], 5))
        self.fake.set_fault(mode="empty")
        result = self.fake.request("GET", "/Users/Me")
        self.assertEqual((result.status, result.body), (200, b""))

    def test_redirect(self):
        self.fake.set_fault(mode="redirect")
        result = self.fake.request("GET", "/System/Info/Public")
        self.assertEqual((result.status, result.headers["Location"]),
                         (302, "http://127.0.0.1:1/"))

    def test_huge(self):
        self.fake.set_fault(mode="huge")
        connection = self.fake.connection()
        try:
            connection.request("GET", "/Users")
            response = connection.getresponse()
            self.assertEqual(int(response.headers["Content-Length"]), 50 * 1024 * 1024)
            self.assertEqual(len(response.read(1024 * 1024)), 1024 * 1024)
        finally:
            connection.close()

    def test_reset(self):
        for fake in (self.fake, SERVERS["main"]):
            with self.subTest(server=fake.name):
                fake.set_fault(mode="reset", count=1)
                with self.assertRaises((ConnectionError, ssl.SSLError)):
                    fake.request("GET", "/System/Ping")
                self.assertEqual(fake.request("GET", "/System/Ping").status, 200)


class LifecycleTests(unittest.TestCase):
    """Port file, SIGTERM, --state-file and --log on a server of its own."""

    def test_restart_keeps_tokens_and_logs_no_secrets(self):
        data = data_file("life")
        state_file = os.path.join(WORKDIR, "life.state")
        extra = ["--state-file", state_file]
        fake = Fake("life", data, extra=extra)
        self.addCleanup(fake.stop)
        self.assertRegex(fake.port_text, r"^[0-9]+\n$")
        token = fake.token("alice", "secret")
        self.assertEqual(fake.stop(), 0)
        fake = Fake("life", data, extra=extra)
        self.addCleanup(fake.stop)
        self.assertEqual(fake.call("GET", "/Users/Me", token).status, 200)
        self.assertEqual(fake.state()["last_auth_header"],
                         f'MediaBrowser Token="{token[:8]}{"*" * 24}"')
        self.assertEqual(fake.stop(), 0)
        with open(fake.log_file, encoding="utf-8") as stream:
            log = stream.read()
        self.assertIn("POST /Users/AuthenticateByName 200", log)
        self.assertNotIn(token, log)
        self.assertNotIn("secret", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
