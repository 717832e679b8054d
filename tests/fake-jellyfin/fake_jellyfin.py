#!/usr/bin/python3
"""Fake Jellyfin server for the jellyfin-auth test suite.

It imitates the authentication side of the Jellyfin HTTP API as described in
shared/jellyfin-api.md (sections 0-7):

* the Authorization header grammar (AuthorizationContext.GetParts), the token
  search order and the EnableLegacyAuthorization switch;
* POST /Users/AuthenticateByName with the server's exact order of checks,
  device tokens, in-memory sessions, lockout and token revocation;
* the user, password, policy, API key, session and system endpoints that the
  PAM module and the sync tool use;
* the .NET conventions: PascalCase (camelCase on request), nulls omitted,
  N-form GUIDs, 7-digit UTC dates, ProblemDetails and text/plain error bodies.

--version picks the 10.10, 10.11 or 12.0 behaviour (12.0 by default).

A control API under /__fake/ (loopback callers only, no authentication) lets
tests read the state, patch users and server settings, and inject faults such
as hangs, slow bodies, 5xx answers, garbage JSON and connection resets.

Python 3 standard library only. See README.md for the command line, the data
file format and the control API.
"""

import argparse
import dataclasses
import enum
import hashlib
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import sys
import tempfile
import threading
import traceback
import unicodedata
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

PRODUCT_NAME = "Jellyfin Server"
ERROR_TEXT = "Error processing request."
ZERO_GUID = "0" * 32
MIN_DATE = "0001-01-01T00:00:00.0000000Z"
DEFAULT_AUTH_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider"
DEFAULT_RESET_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HANDSHAKE_TIMEOUT = 10
IDLE_TIMEOUT = 120
HUGE_BODY_SIZE = 50 * 1024 * 1024
DEVICE_ACTIVITY_INTERVAL = timedelta(minutes=3)
QUICK_CONNECT_TIMEOUT = timedelta(minutes=10)   # QuickConnectManager.Timeout
QUICK_CONNECT_APPROVED = timedelta(minutes=1)   # what is left of a request once approved
DEFAULT_LAN = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "169.254.0.0/16", "fc00::/7", "fe80::/10"))


# --------------------------------------------------------------------------
# Version profiles


@dataclass(frozen=True)
class Profile:
    """Behaviour that differs between the Jellyfin versions the fake imitates."""

    version: str              # Version in /System/Info/Public
    legacy_default: bool      # EnableLegacyAuthorization when the data file says null
    legacy_switch: bool       # False: legacy token sources are always on
    emby_header_first: bool   # X-Emby-Authorization read before Authorization
    plus_in_names: bool       # '+' allowed in user names
    trimmed_names: bool       # leading or trailing spaces refused in user names
    dot_names_refused: bool   # "." and ".." refused as user names
    has_password_hidden: bool  # HasPassword/HasConfiguredPassword always true
    lockout_saved: bool       # False reproduces the 10.11.11 bug #17278


PROFILES = {
    "10.10": Profile("10.10.7", legacy_default=True, legacy_switch=False,
                     emby_header_first=True, plus_in_names=False, trimmed_names=False,
                     dot_names_refused=False, has_password_hidden=False, lockout_saved=True),
    "10.11": Profile("10.11.11", legacy_default=True, legacy_switch=True,
                     emby_header_first=False, plus_in_names=True, trimmed_names=True,
                     dot_names_refused=False, has_password_hidden=False, lockout_saved=False),
    "12.0": Profile("12.0.0", legacy_default=False, legacy_switch=True,
                    emby_header_first=False, plus_in_names=True, trimmed_names=True,
                    dot_names_refused=True, has_password_hidden=True, lockout_saved=True),
}


# --------------------------------------------------------------------------
# Small value helpers: dates, GUIDs, JSON the .NET way


def utc_now():
    return datetime.now(timezone.utc)


def format_date(moment):
    """ISO 8601 round-trip form of JsonDateTimeConverter: UTC, 7 fractional digits, Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_date(text):
    return datetime.fromisoformat(text).astimezone(timezone.utc)


_GUID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)


def parse_guid(text):
    """N form of a GUID written in any Guid.Parse layout (N, D, {D}, (D)); None if invalid."""
    text = text.strip()
    if text[:1] + text[-1:] in ("{}", "()"):
        text = text[1:-1]
    return text.replace("-", "").lower() if _GUID.fullmatch(text) else None


def session_id(key):
    """SessionManager: Client+DeviceId through StringExtensions.GetMD5 (UTF-16, GUID byte order)."""
    digest = hashlib.md5(key.encode("utf-16-le")).digest()
    return uuid.UUID(bytes_le=digest).hex


def pascal(snake):
    return "".join(part.capitalize() for part in snake.split("_"))


def camel(key):
    return key[:1].lower() + key[1:]


# System.Text.Json's default encoder writes ASCII only and escapes HTML-sensitive characters.
_ESCAPABLE = re.compile(r"\\.|[<>&'+`]")


def _escape_html_sensitive(match):
    text = match.group(0)
    if text == '\\"':
        return "\\u0022"
    if text.startswith("\\"):
        return text
    return "\\u%04X" % ord(text)


def _encode_string(text):
    literal = json.dumps(text)
    return '"' + _ESCAPABLE.sub(_escape_html_sensitive, literal[1:-1]) + '"'


def encode_json(value, camel_case=False):
    """Serialise like Jellyfin: null members omitted, ASCII-only strings, optional camelCase."""
    if isinstance(value, dict):
        members = (_encode_string(camel(key) if camel_case else key) + ":"
                   + encode_json(item, camel_case)
                   for key, item in value.items() if item is not None)
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode_json(item, camel_case) for item in value) + "]"
    if isinstance(value, str):
        return _encode_string(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def mask_secret(secret):
    """First 8 characters kept, the rest replaced by '*' (same length)."""
    return secret[:8] + "*" * max(0, len(secret) - 8)


_HEADER_TOKEN = re.compile(r'(?<=[\s,])(Token=)("[^"]*"?|[^,]*)')


def mask_header_token(header):
    def mask(match):
        value = match.group(2)
        quote = '"' if value.startswith('"') else ""
        return match.group(1) + quote + mask_secret(value.strip('"')) + quote
    return _HEADER_TOKEN.sub(mask, header)


def write_atomic(path, text, mode=0o600):
    """Write a file through a temporary file and rename, so readers never see it half done."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# --------------------------------------------------------------------------
# Authorization header (AuthorizationContext)


def get_parts(text):
    """Port of AuthorizationContext.GetParts.

    '"' toggles quoting; outside quotes '=' ends a key (whitespace-trimmed) and
    ',' ends a value. Values lose only '"' at their ends, then are URL-decoded
    ('+' is a space). Keys are case-sensitive; a repeated key keeps its last value.
    """
    parts, quoted, start, key = {}, False, 0, ""
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            if start < index:
                parts[key] = _decode_part(text[start:index])
                key = ""
            start = index + 1
        elif char == "=" and not quoted:
            key = text[start:index].strip()
            start = index + 1
    if start < len(text):
        parts[key] = _decode_part(text[start:])
    return parts


def _decode_part(raw):
    return urllib.parse.unquote_plus(raw.strip('"'))


def parse_authorization(header, accept_emby):
    """AuthorizationContext.GetAuthorization: scheme before the first space, then GetParts."""
    scheme, space, rest = (header or "").partition(" ")
    schemes = ("mediabrowser", "emby") if accept_emby else ("mediabrowser",)
    if not space or scheme.lower() not in schemes:
        return None
    return get_parts(rest)


# --------------------------------------------------------------------------
# Access schedules and user names


DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
             "Everyday", "Weekday", "Weekend")
DAY_GROUPS = {"Everyday": range(7), "Weekday": range(1, 6), "Weekend": (0, 6)}


def normalize_schedule(value):
    """An AccessSchedule as {"DayOfWeek": name, "StartHour": float, "EndHour": float}."""
    if not isinstance(value, dict):
        raise ValueError("an access schedule must be an object")
    members = {key.lower(): item for key, item in value.items()}
    return {"DayOfWeek": _day_name(members.get("dayofweek")),
            "StartHour": _hour(members.get("starthour", 0)),
            "EndHour": _hour(members.get("endhour", 0))}


def _day_name(value):
    """DynamicDayOfWeek through JsonStringEnumConverter: a name (any case) or its number."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(DAY_NAMES):
        return DAY_NAMES[value]
    by_lower_name = {name.lower(): name for name in DAY_NAMES}
    if isinstance(value, str) and value.lower() in by_lower_name:
        return by_lower_name[value.lower()]
    raise ValueError(f"bad DayOfWeek {value!r}")


def _hour(value):
    if isinstance(value, bool):
        raise ValueError("an hour must be a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"bad hour {value!r}") from None


def _days(day_name):
    """Day numbers (Sunday = 0) that a DynamicDayOfWeek covers."""
    return DAY_GROUPS.get(day_name) or (DAY_NAMES.index(day_name),)


def schedule_allows(schedules, moment):
    """UserExtensions.IsParentalScheduleAllowed for a local time; no schedule allows all."""
    if not schedules:
        return True
    day = (moment.weekday() + 1) % 7
    hour = moment.hour + moment.minute / 60 + (moment.second + moment.microsecond / 1e6) / 3600
    return any(day in _days(s["DayOfWeek"]) and s["StartHour"] <= hour <= s["EndHour"]
               for s in schedules)


_NAME_PUNCTUATION = " -'._@"
_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Nd", "Pc"})


def is_valid_username(name, profile):
    """UserManager.ThrowIfInvalidUsername for the profile's version."""
    if not isinstance(name, str):
        return False
    core = name[:-1] if name.endswith("\n") else name  # .NET '$' also matches before a final \n
    allowed = _NAME_PUNCTUATION + ("+" if profile.plus_in_names else "")
    if not core or not all(_is_name_char(char, allowed) for char in core):
        return False
    if profile.trimmed_names and (core[0] == " " or core[-1] == " "):
        return False
    return not (profile.dot_names_refused and name in (".", ".."))


def _is_name_char(char, allowed):
    # .NET \w sees UTF-16 units: characters beyond the BMP are surrogates, never \w.
    return char in allowed or (ord(char) <= 0xFFFF
                               and unicodedata.category(char) in _WORD_CATEGORIES)


# --------------------------------------------------------------------------
# Value converters, shared by JSON body binding and the data file


def as_str(value):
    if value is None or isinstance(value, str):
        return value
    raise ValueError("expected a string")


def as_text(value):
    if isinstance(value, str) and value:
        return value
    raise ValueError("expected a non-empty string")


def as_password(value):
    return as_str(value) or ""


def as_bool(value):
    if isinstance(value, bool):
        return value
    raise ValueError("expected true or false")


def as_int(value):
    """Integers; numeric strings too (NumberHandling.AllowReadingFromString)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    raise ValueError("expected an integer")


def as_lockout(value):
    """LoginAttemptsBeforeLockout as UpdatePolicyAsync stores it: 0 means 3, -1 none."""
    attempts = as_int(value)
    return 3 if attempts == 0 else attempts


def as_str_list(value):
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValueError("expected a list of strings")


def as_schedules(value):
    if value is None:
        return []
    if isinstance(value, list):
        return [normalize_schedule(item) for item in value]
    raise ValueError("expected a list of access schedules")


def as_guid(value):
    guid = parse_guid(value) if isinstance(value, str) else None
    if guid is None:
        raise ValueError(f"bad GUID {value!r}")
    return guid


def as_date(value):
    return None if value is None else parse_date(as_text(value))


# --------------------------------------------------------------------------
# Data model


@dataclass
class User:
    """A Jellyfin user with the policy fields that matter for authentication."""

    name: str
    id: str
    password: str = ""
    is_administrator: bool = False
    is_hidden: bool = True
    is_disabled: bool = False
    enable_remote_access: bool = True
    enable_all_devices: bool = True
    enabled_devices: list = field(default_factory=list)
    max_active_sessions: int = 0
    login_attempts_before_lockout: int = -1
    invalid_login_attempt_count: int = 0
    enable_user_preference_access: bool = True
    access_schedules: list = field(default_factory=list)
    authentication_provider_id: str = DEFAULT_AUTH_PROVIDER
    password_reset_provider_id: str = DEFAULT_RESET_PROVIDER
    last_login_date: Optional[datetime] = None
    last_activity_date: Optional[datetime] = None

    @classmethod
    def from_data(cls, data):
        if not isinstance(data, dict) or "name" not in data or "id" not in data:
            raise ValueError("a user needs a name and an id")
        user = cls(name="", id=ZERO_GUID)
        user.update(data)
        return user

    def update(self, data):
        """Apply data-file keys; ValueError names an unknown key or a bad value."""
        for key, value in data.items():
            convert = USER_KEYS.get(key)
            if convert is None:
                raise ValueError(f"unknown user key {key!r}")
            try:
                setattr(self, key, convert(value))
            except ValueError as error:
                raise ValueError(f"user key {key!r}: {error}") from None

    def to_data(self):
        return _record_to_data(self)

    @property
    def has_password(self):
        return bool(self.password)

    def password_matches(self, password):
        """DefaultAuthenticationProvider: with no stored password only an empty one matches."""
        if not self.password:
            return not password
        return password == self.password

    def can_use_device(self, device_id):
        """DeviceManager.CanAccessDevice (an unknown device counts as a persistent id)."""
        return (self.is_administrator or self.enable_all_devices
                or device_id in self.enabled_devices)

    def schedule_allows_now(self):
        return schedule_allows(self.access_schedules, datetime.now())


USER_KEYS = {
    "name": as_text, "id": as_guid, "password": as_password,
    "is_administrator": as_bool, "is_hidden": as_bool, "is_disabled": as_bool,
    "enable_remote_access": as_bool, "enable_all_devices": as_bool,
    "enabled_devices": as_str_list, "max_active_sessions": as_int,
    "login_attempts_before_lockout": as_lockout, "invalid_login_attempt_count": as_int,
    "enable_user_preference_access": as_bool, "access_schedules": as_schedules,
    "authentication_provider_id": as_text, "password_reset_provider_id": as_text,
    "last_login_date": as_date, "last_activity_date": as_date,
}

# UserPolicy properties the fake keeps; the JSON name is the PascalCase attribute name.
POLICY_ATTRIBUTES = (
    "is_administrator", "is_hidden", "is_disabled", "enable_remote_access",
    "enable_all_devices", "enabled_devices", "max_active_sessions",
    "login_attempts_before_lockout", "invalid_login_attempt_count",
    "enable_user_preference_access", "access_schedules",
    "authentication_provider_id", "password_reset_provider_id")


@dataclass
class Device:
    """A Devices row: the access token of one user on one DeviceId."""

    token: str
    user_id: str
    device_id: str
    client: str
    device_name: str
    version: str
    created: datetime = field(default_factory=utc_now)
    last_activity: datetime = field(default_factory=utc_now)


@dataclass
class ApiKey:
    """An ApiKeys row."""

    key: str
    app: str
    created: datetime = field(default_factory=utc_now)


@dataclass
class Session:
    """An in-memory SessionInfo, keyed by Client+DeviceId."""

    id: str
    user_id: str
    user_name: str
    client: str
    device_id: str
    device_name: str
    version: str
    remote_end_point: str
    last_activity: datetime = field(default_factory=utc_now)


_DATE_KEYS = ("created", "last_activity", "last_login_date", "last_activity_date")


def _record_to_data(record):
    return {key: format_date(value) if isinstance(value, datetime) else value
            for key, value in dataclasses.asdict(record).items()}


def _record_from_data(cls, data):
    if not isinstance(data, dict):
        raise ValueError(f"a {cls.__name__} must be an object")
    try:
        return cls(**{key: parse_date(value) if key in _DATE_KEYS else value
                      for key, value in data.items()})
    except TypeError as error:
        raise ValueError(f"{cls.__name__}: {error}") from None


@dataclass
class ServerSettings:
    """The data file's "server" section."""

    name: str = "Test Jellyfin"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    legacy_authorization: Optional[bool] = None
    lan_networks: Optional[tuple] = None
    quick_connect: bool = True   # QuickConnectAvailable

    def update(self, data):
        for key, value in data.items():
            if key == "name":
                self.name = as_text(value)
            elif key == "id":
                as_guid(value)
                self.id = value  # kept verbatim, as the real server keeps its id file
            elif key == "legacy_authorization":
                self.legacy_authorization = None if value is None else as_bool(value)
            elif key == "quick_connect":
                self.quick_connect = as_bool(value)
            elif key == "lan_networks":
                self.lan_networks = None if value is None else tuple(
                    ipaddress.ip_network(net, strict=False) for net in as_str_list(value))
            else:
                raise ValueError(f"unknown server key {key!r}")

    def in_lan(self, address):
        """NetworkManager.IsInLocalNetwork; lan_networks, when given, is used exactly."""
        networks = DEFAULT_LAN if self.lan_networks is None else self.lan_networks
        return any(address in network for network in networks)


# --------------------------------------------------------------------------
# Service errors (mapped by ExceptionMiddleware to text/plain bodies)


class ServiceError(Exception):
    status = 500


class ArgumentError(ServiceError):
    status = 400


class AuthenticationError(ServiceError):
    status = 401


class SecurityError(ServiceError):
    status = 403


# --------------------------------------------------------------------------
# State: users, keys, tokens, sessions and the server's rules about them


@dataclass
class QuickConnectRequest:
    """QuickConnectResult, plus who approved it and the session made then."""

    secret: str
    code: str
    device_id: str
    device_name: str
    app_name: str
    app_version: str
    added: datetime           # moved on approval: expires at added + QUICK_CONNECT_TIMEOUT
    authenticated: bool = False
    approved_at: Optional[datetime] = None
    result: Optional[dict] = None   # the AuthenticationResult, once approved
    user_id: Optional[str] = None


class State:
    """Users, API keys, device tokens and sessions, with the real server's rules.

    Not thread-safe by itself: callers hold `lock`.
    """

    def __init__(self, settings, profile, state_file=None):
        self.lock = threading.RLock()
        self.settings = settings
        self.profile = profile
        self.state_file = state_file
        self.users = {}      # id -> User
        self.api_keys = {}   # key -> ApiKey
        self.devices = {}    # token -> Device
        self.sessions = {}   # Client+DeviceId -> Session
        self.quick_connect = {}  # code -> QuickConnectRequest (QuickConnectManager)
        self.clock_offset = timedelta()  # moved forward by /__fake/quick-connect "advance"

    # Quick Connect (QuickConnectManager; times read from now(), which the tests can move)

    def now(self):
        return utc_now() + self.clock_offset

    def qc_assert_active(self):
        if not self.settings.quick_connect:
            raise AuthenticationError()

    def qc_expire(self):
        """ExpireRequests: pending requests 10 min after DateAdded (approval moves it so
        that one minute is left); approved results 10 min after approval."""
        cutoff = self.now() - QUICK_CONNECT_TIMEOUT
        for code, request in list(self.quick_connect.items()):
            if request.added < cutoff and (request.approved_at is None
                                           or request.approved_at < cutoff):
                del self.quick_connect[code]

    def qc_pending(self, request):
        """Still visible to GET /QuickConnect/Connect (and to Authorize)."""
        return request.added >= self.now() - QUICK_CONNECT_TIMEOUT

    def qc_initiate(self, auth):
        self.qc_assert_active()
        self.qc_expire()
        if not all((auth.client, auth.device, auth.device_id, auth.version)):
            raise ArgumentError()
        code = f"{secrets.randbelow(1000000):06d}"
        while code in self.quick_connect:
            code = f"{secrets.randbelow(1000000):06d}"
        request = QuickConnectRequest(secrets.token_hex(32), code, auth.device_id,
                                      auth.device, auth.client, auth.version, self.now())
        self.quick_connect[code] = request
        return request

    def qc_by_secret(self, secret):
        return next((r for r in self.quick_connect.values() if r.secret == secret), None)

    def qc_authorize(self, code, user, address, dtos):
        """AuthorizeRequest + SessionManager.AuthenticateDirect (no password, no IsDisabled,
        remote access or schedule check; device access and MaxActiveSessions are checked)."""
        self.qc_assert_active()
        self.qc_expire()
        request = self.quick_connect.get(code)
        if request is None or not self.qc_pending(request):
            return None
        if request.authenticated:
            raise ServiceError()   # InvalidOperationException: 500
        if not user.can_use_device(request.device_id):
            raise SecurityError()
        if 0 < user.max_active_sessions <= self.session_count(user):
            raise SecurityError()
        auth = AuthInfo(client=request.app_name, device=request.device_name,
                        device_id=request.device_id, version=request.app_version)
        device, session = self.open_session(user, auth, address)
        request.added = self.now() - QUICK_CONNECT_TIMEOUT + QUICK_CONNECT_APPROVED
        request.approved_at = self.now()
        request.authenticated = True
        request.user_id = user.id
        request.result = {"User": dtos.user(user), "SessionInfo": dtos.session(session),
                          "AccessToken": device.token, "ServerId": self.settings.id}
        return request

    def qc_advance(self, seconds):
        self.clock_offset += timedelta(seconds=seconds)

    def load(self, document):
        for data in document.get("users") or []:
            user = User.from_data(data)
            self.users[user.id] = user
        for data in document.get("api_keys") or []:
            key = _record_from_data(ApiKey, data)
            self.api_keys[key.key] = key
        for data in document.get("devices") or []:
            device = _record_from_data(Device, data)
            self.devices[device.token] = device

    def save(self):
        """Persist users, keys and tokens to --state-file (sessions stay in memory)."""
        if not self.state_file:
            return
        document = {"users": [user.to_data() for user in self.users.values()],
                    "api_keys": [_record_to_data(key) for key in self.api_keys.values()],
                    "devices": [_record_to_data(device) for device in self.devices.values()]}
        write_atomic(self.state_file, json.dumps(document, indent=1) + "\n")

    # users

    def user_by_id(self, user_id):
        """UserManager.GetUserById: the empty GUID is an ArgumentException."""
        if user_id == ZERO_GUID:
            raise ArgumentError()
        return self.users.get(user_id)

    def user_by_name(self, name):
        """Case-insensitive lookup, upper-casing both sides like NormalizedUsername."""
        wanted = name.upper()
        return next((user for user in self.users.values() if user.name.upper() == wanted), None)

    def sorted_users(self):
        return sorted(self.users.values(), key=lambda user: (user.name.casefold(), user.name))

    def authenticate_user(self, name, password, address, user_session):
        """UserManager.AuthenticateUser: the user, None for a wrong password, or raise."""
        if name is None or not name.strip():
            raise ArgumentError()
        user = self.user_by_name(name)
        if user is None:
            raise AuthenticationError()
        if user.is_disabled:
            raise SecurityError()
        if not user.enable_remote_access and not self.settings.in_lan(address):
            raise SecurityError()
        if not user.schedule_allows_now():
            raise SecurityError()
        if not user.password_matches(password):
            self._count_failed_login(user)
            return None
        user.invalid_login_attempt_count = 0
        if user_session:
            user.last_login_date = user.last_activity_date = utc_now()
        return user

    def _count_failed_login(self, user):
        user.invalid_login_attempt_count += 1
        limit = user.login_attempts_before_lockout
        if limit != -1 and user.invalid_login_attempt_count >= limit and self.profile.lockout_saved:
            user.is_disabled = True

    def change_password(self, user, new_password):
        """UserManager.ChangePassword: empty removes the password, refused for admins."""
        if user.is_administrator and not new_password.strip():
            raise ArgumentError()
        user.password = new_password

    def create_user(self, name):
        self._check_new_name(name, None)
        user = User(name=name, id=uuid.uuid4().hex)
        self.users[user.id] = user
        return user

    def rename_user(self, user, name):
        self._check_new_name(name, user)
        user.name = name

    def _check_new_name(self, name, user):
        if not is_valid_username(name, self.profile):
            raise ArgumentError()
        holder = self.user_by_name(name)
        if holder is not None and holder is not user:
            raise ArgumentError()

    def apply_policy(self, user, values):
        for attribute, value in values.items():
            setattr(user, attribute, value)

    def is_last_admin(self, user):
        return user.is_administrator and sum(u.is_administrator for u in self.users.values()) == 1

    def remove_user(self, user):
        self.revoke_user_tokens(user.id)
        del self.users[user.id]

    # tokens and sessions

    def resolve_token(self, token):
        """Device tokens first, then API keys; exact, case-sensitive match."""
        return self.devices.get(token) or self.api_keys.get(token)

    def open_session(self, user, auth, address):
        """GetAuthorizationToken, which replaces the user's token on that DeviceId,
        then LogSessionActivity."""
        for device in list(self.devices.values()):
            if device.user_id == user.id and device.device_id == auth.device_id:
                self.logout_device(device)
        device = Device(uuid.uuid4().hex, user.id, auth.device_id, auth.client,
                        auth.device, auth.version)
        self.devices[device.token] = device
        key = auth.client + auth.device_id
        session = Session(session_id(key), user.id, user.name, auth.client, auth.device_id,
                          auth.device, auth.version, str(address))
        self.sessions[key] = session
        return device, session

    def session_count(self, user):
        return sum(session.user_id == user.id for session in self.sessions.values())

    def logout_device(self, device):
        """SessionManager.Logout(Device): drop the token, end every session on that DeviceId."""
        self.devices.pop(device.token, None)
        for key, session in list(self.sessions.items()):
            if session.device_id.casefold() == device.device_id.casefold():
                del self.sessions[key]

    def logout_token(self, token):
        device = self.devices.get(token)
        if device is not None:
            self.logout_device(device)

    def revoke_user_tokens(self, user_id, keep_token=None):
        for device in list(self.devices.values()):
            if device.user_id == user_id and device.token != keep_token:
                self.logout_device(device)

    def add_api_key(self, app):
        key = ApiKey(uuid.uuid4().hex, app)
        self.api_keys[key.key] = key


def load_state(data_path, state_path, profile):
    """The data file, with users, keys and tokens from the state file when it exists."""
    with open(data_path, encoding="utf-8") as stream:
        document = json.load(stream)
    if not isinstance(document, dict):
        raise ValueError(f"{data_path}: the data file must hold a JSON object")
    if state_path and os.path.exists(state_path) and os.path.getsize(state_path) > 0:
        with open(state_path, encoding="utf-8") as stream:
            document.update(json.load(stream))
    settings = ServerSettings()
    settings.update(document.get("server") or {})
    state = State(settings, profile, state_path)
    state.load(document)
    return state


# --------------------------------------------------------------------------
# Responses


@dataclass
class Response:
    """What a handler answers; the body is rendered when the request's casing is known."""

    status: int
    payload: object = None         # JSON value written the .NET way
    text: Optional[str] = None     # text/plain body
    body: Optional[bytes] = None   # ready-made body (control API)
    content_type: Optional[str] = None
    headers: dict = field(default_factory=dict)

    def render(self, camel_case=False):
        """(body bytes, Content-Type or None)."""
        if self.body is not None:
            return self.body, self.content_type
        if self.payload is not None:
            return encode_json(self.payload, camel_case).encode("ascii"), JSON_CONTENT_TYPE
        if self.text is not None:
            return self.text.encode("utf-8"), "text/plain"
        return b"", None


class Reply(Exception):
    """Ends request processing early with a ready response."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def empty(status=204):
    return Response(status)


def json_reply(payload, status=200):
    return Response(status, payload=payload)


def plain_json(value, status=200):
    return Response(status, body=json.dumps(value).encode("utf-8"),
                    content_type="application/json")


_PROBLEMS = {400: ("15.5.1", "Bad Request"), 404: ("15.5.5", "Not Found"),
             415: ("15.5.16", "Unsupported Media Type")}


def problem(status, errors=None):
    """An RFC 9110 ProblemDetails body, as [ApiController] produces it."""
    section, title = _PROBLEMS[status]
    return json_reply({
        "type": f"https://tools.ietf.org/html/rfc9110#section-{section}",
        "title": "One or more validation errors occurred." if errors else title,
        "status": status,
        "errors": errors,
        "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
    }, status)


def validation_problem(key, message):
    return problem(400, {key: [message]})


# --------------------------------------------------------------------------
# Requests


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str       # URL-decoded, without the query
    query: dict     # lower-cased name -> first value (ASP.NET query names are case-insensitive)
    headers: object  # email.message.Message
    body: bytes
    client_ip: object

    def header(self, name):
        """The first value of a header (AuthorizationContext reads only that one)."""
        values = self.headers.get_all(name)
        return values[0] if values else None

    @property
    def is_control(self):
        return self.path.lower().startswith("/__fake/")

    @property
    def is_login(self):
        path = self.path.rstrip("/").lower()
        return self.method == "POST" and path == "/users/authenticatebyname"

    @property
    def camel_case(self):
        """Accept: application/json; profile="CamelCase" selects camelCase output."""
        for media_range in (self.header("Accept") or "").split(","):
            media_type, *parameters = (part.strip() for part in media_range.split(";"))
            if media_type.lower() == "application/json" and any(
                    parameter.replace('"', "").replace(" ", "").lower() == "profile=camelcase"
                    for parameter in parameters):
                return True
        return False


_JSON_MEDIA_TYPE = re.compile(r"application/json|text/json|application/[^/;\s]+\+json",
                              re.IGNORECASE)


def bind_json(request, schema, required=()):
    """MVC [FromBody, Required] binding of a JSON object.

    415 for a non-JSON media type; 400 ProblemDetails for a missing, null or
    ill-formed body, a member of the wrong type or a missing required member.
    Member names match case-insensitively; unknown members are ignored.
    `schema` maps member names to converters.
    """
    media_type = (request.header("Content-Type") or "").split(";")[0].strip()
    if not _JSON_MEDIA_TYPE.fullmatch(media_type):
        raise Reply(problem(415))
    try:
        document = json.loads(request.body) if request.body.strip() else None
    except ValueError:
        raise Reply(validation_problem("$", "The JSON value could not be converted.")) from None
    if not isinstance(document, dict):
        raise Reply(validation_problem("request", "The request field is required."))
    names = {name.lower(): name for name in schema}
    values = {}
    for key, value in document.items():
        name = names.get(key.lower())
        if name is None:
            continue
        try:
            values[name] = schema[name](value)
        except ValueError:
            raise Reply(validation_problem(
                "$." + key, "The JSON value could not be converted.")) from None
    for name in required:
        if not values.get(name):
            raise Reply(validation_problem(name, f"The {name} field is required."))
    return values


@dataclass
class AuthInfo:
    """AuthorizationInfo: the client fields and who the token belongs to."""

    client: Optional[str] = None
    device: Optional[str] = None
    device_id: Optional[str] = None
    version: Optional[str] = None
    token: Optional[str] = None
    user: Optional[User] = None
    api_key: Optional[ApiKey] = None

    @property
    def authenticated(self):
        """AuthService.Authenticate succeeds: a known token whose user is not disabled."""
        return self.api_key is not None or (self.user is not None and not self.user.is_disabled)

    @property
    def is_admin(self):
        """The Administrator role claim: admin users and every API key."""
        return self.api_key is not None or (self.user is not None and self.user.is_administrator)

    @property
    def user_id(self):
        return self.user.id if self.user is not None else ZERO_GUID


class Context:
    """A Jellyfin API request together with its AuthorizationInfo."""

    def __init__(self, request, auth):
        self.request = request
        self.auth = auth

    @property
    def client_ip(self):
        return self.request.client_ip

    def query_value(self, name):
        return self.request.query.get(name.lower())

    def guid(self, value, name):
        guid = parse_guid(value)
        if guid is None:
            raise Reply(validation_problem(name, f"The value '{value}' is not valid."))
        return guid

    def query_guid(self, name):
        value = self.query_value(name)
        return self.guid(value, name) if value else None

    def query_bool(self, name):
        value = self.query_value(name)
        if not value:
            return None
        if value.lower() not in ("true", "false"):
            raise Reply(validation_problem(name, f"The value '{value}' is not valid."))
        return value.lower() == "true"

    def query_int(self, name):
        value = self.query_value(name)
        if not value:
            return None
        try:
            return as_int(value)
        except ValueError:
            raise Reply(validation_problem(name, f"The value '{value}' is not valid.")) from None

    def bind_body(self, schema, required=()):
        return bind_json(self.request, schema, required)


# --------------------------------------------------------------------------
# Routing


class Access(enum.Enum):
    """Endpoint authorization policies."""

    ANONYMOUS = "anonymous"
    DEFAULT = "default"                  # [Authorize]: remote-access and schedule checks
    IGNORE_SCHEDULE = "ignore-schedule"  # IgnoreParentalControl
    ELEVATED = "elevated"                # RequiresElevation: Administrator role


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    access: Access
    handler: Callable


def route(method, template, access, handler):
    """A case-insensitive route; {name} matches one path segment; a trailing '/' is allowed."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(regex + "/?", re.IGNORECASE), access, handler)


def find_route(routes, method, path):
    """The first route matching path and method; 405 if only the method differs, else 404."""
    allowed = []
    for candidate in routes:
        match = candidate.pattern.fullmatch(path)
        if match is None:
            continue
        if candidate.method == method:
            return candidate, match.groupdict()
        allowed.append(candidate.method)
    if allowed:
        raise Reply(Response(405, headers={"Allow": ", ".join(allowed)}))
    raise Reply(empty(404))


# --------------------------------------------------------------------------
# DTOs


USER_CONFIGURATION = {
    "PlayDefaultAudioTrack": True, "SubtitleLanguagePreference": "",
    "DisplayMissingEpisodes": False, "GroupedFolders": [], "SubtitleMode": "Default",
    "DisplayCollectionsView": False, "EnableLocalPassword": False, "OrderedViews": [],
    "LatestItemsExcludes": [], "MyMediaExcludes": [], "HidePlayedInLatest": True,
    "RememberAudioSelections": True, "RememberSubtitleSelections": True,
    "EnableNextEpisodeAutoPlay": True, "CastReceiverId": "F007D354",
}

FIXED_POLICY = {
    "EnableCollectionManagement": False, "EnableSubtitleManagement": False,
    "EnableLyricManagement": False, "BlockedTags": [], "AllowedTags": [],
    "BlockUnratedItems": [], "EnableSharedDeviceControl": True, "EnableLiveTvAccess": True,
    "EnableMediaPlayback": True, "EnableAudioPlaybackTranscoding": True,
    "EnableVideoPlaybackTranscoding": True, "EnablePlaybackRemuxing": True,
    "ForceRemoteSourceTranscoding": False, "EnableContentDeletionFromFolders": [],
    "EnableContentDownloading": True, "EnableSyncTranscoding": True,
    "EnableMediaConversion": True, "EnabledChannels": [], "EnableAllChannels": True,
    "EnabledFolders": [], "EnableAllFolders": True, "EnablePublicSharing": True,
    "BlockedMediaFolders": [], "BlockedChannels": [], "RemoteClientBitrateLimit": 0,
    "SyncPlayAccess": "CreateAndJoinGroups",
}


class Dtos:
    """Builds the response objects (UserDto, SessionInfoDto, AuthenticationInfo)."""

    def __init__(self, state):
        self.state = state

    def user(self, user):
        has_password = self.state.profile.has_password_hidden or user.has_password
        return {
            "Name": user.name,
            "ServerId": self.state.settings.id,
            "Id": user.id,
            "HasPassword": has_password,
            "HasConfiguredPassword": has_password,
            "HasConfiguredEasyPassword": False,
            "EnableAutoLogin": False,
            "LastLoginDate": user.last_login_date and format_date(user.last_login_date),
            "LastActivityDate": user.last_activity_date and format_date(user.last_activity_date),
            "Configuration": USER_CONFIGURATION,
            "Policy": self.policy(user),
        }

    def policy(self, user):
        schedules = [{"Id": index + 1, "UserId": user.id, **schedule}
                     for index, schedule in enumerate(user.access_schedules)]
        policy = {pascal(name): getattr(user, name) for name in POLICY_ATTRIBUTES}
        policy.update(FIXED_POLICY, AccessSchedules=schedules,
                      EnableRemoteControlOfOtherUsers=user.is_administrator,
                      EnableLiveTvManagement=user.is_administrator,
                      EnableContentDeletion=user.is_administrator)
        return policy

    def session(self, session):
        return {
            "PlayState": {"CanSeek": False, "IsPaused": False, "IsMuted": False,
                          "RepeatMode": "RepeatNone", "PlaybackOrder": "Default"},
            "AdditionalUsers": [],
            "Capabilities": {"PlayableMediaTypes": [], "SupportedCommands": [],
                             "SupportsMediaControl": False,
                             "SupportsPersistentIdentifier": True},
            "RemoteEndPoint": session.remote_end_point,
            "PlayableMediaTypes": [],
            "Id": session.id,
            "UserId": session.user_id,
            "UserName": session.user_name,
            "Client": session.client,
            "LastActivityDate": format_date(session.last_activity),
            "LastPlaybackCheckIn": MIN_DATE,
            "DeviceName": session.device_name,
            "DeviceId": session.device_id,
            "ApplicationVersion": session.version,
            "IsActive": True,
            "SupportsMediaControl": False,
            "SupportsRemoteControl": False,
            "NowPlayingQueue": [],
            "NowPlayingQueueFullItems": [],
            "HasCustomDeviceName": False,
            "ServerId": self.state.settings.id,
            "SupportedCommands": [],
        }

    @staticmethod
    def api_key(key):
        return {"Id": 0, "AccessToken": key.key, "DeviceId": "", "AppName": key.app,
                "AppVersion": "", "DeviceName": "", "UserId": ZERO_GUID, "IsActive": False,
                "DateCreated": format_date(key.created), "DateLastActivity": MIN_DATE}


# --------------------------------------------------------------------------
# The Jellyfin API


AUTHENTICATE_SCHEMA = {"Username": as_str, "Pw": as_str}
# CurrentPassword (the old SHA1 form) is bound, so type-checked, then ignored like the server does.
PASSWORD_SCHEMA = {"CurrentPw": as_str, "CurrentPassword": as_str, "NewPw": as_str,
                   "ResetPassword": as_bool}
CREATE_USER_SCHEMA = {"Name": as_str, "Password": as_str}
UPDATE_USER_SCHEMA = {"Name": as_str}
POLICY_SCHEMA = {pascal(name): USER_KEYS[name] for name in POLICY_ATTRIBUTES}
POLICY_REQUIRED = ("AuthenticationProviderId", "PasswordResetProviderId")


def can_update_user(auth, user):
    """RequestHelpers.AssertCanUpdateUser with restrictUserPreferences."""
    if user.id != auth.user_id and not auth.is_admin:
        return False
    return auth.is_admin or user.enable_user_preference_access


class JellyfinApi:
    """The Jellyfin endpoints. Each request runs under the state lock."""

    def __init__(self, state, base_url):
        self.state = state
        self.base_url = base_url
        self.dtos = Dtos(state)
        anonymous, default = Access.ANONYMOUS, Access.DEFAULT
        elevated, unscheduled = Access.ELEVATED, Access.IGNORE_SCHEDULE
        # Literal segments come before {parameters}, as in ASP.NET route precedence.
        self.routes = (
            route("POST", "/Users/AuthenticateByName", anonymous, self.authenticate_by_name),
            route("POST", "/Users/AuthenticateWithQuickConnect", anonymous,
                  self.authenticate_with_quick_connect),
            route("POST", "/Users/New", elevated, self.create_user),
            route("POST", "/Users/Password", default, self.change_password),
            route("GET", "/Users/Public", anonymous, self.public_users),
            route("GET", "/Users/Me", default, self.current_user),
            route("POST", "/Users/{user_id}/Authenticate", anonymous, self.authenticate_by_id),
            route("POST", "/Users/{user_id}/Password", default, self.change_password),
            route("POST", "/Users/{user_id}/Policy", elevated, self.update_policy),
            route("GET", "/Users/{user_id}", unscheduled, self.get_user),
            route("POST", "/Users/{user_id}", default, self.update_user),
            route("DELETE", "/Users/{user_id}", elevated, self.delete_user),
            route("GET", "/Users", default, self.list_users),
            route("POST", "/Users", default, self.update_user),
            route("POST", "/Sessions/Logout", default, self.logout),
            route("GET", "/Sessions", default, self.list_sessions),
            route("GET", "/Auth/Keys", elevated, self.list_api_keys),
            route("POST", "/Auth/Keys", elevated, self.create_api_key),
            route("DELETE", "/Auth/Keys/{key}", elevated, self.delete_api_key),
            route("GET", "/System/Info/Public", anonymous, self.public_system_info),
            route("GET", "/System/Ping", anonymous, self.ping),
            route("POST", "/System/Ping", anonymous, self.ping),
            route("GET", "/QuickConnect/Enabled", anonymous, self.qc_enabled),
            route("POST", "/QuickConnect/Initiate", anonymous, self.qc_initiate),
            route("GET", "/QuickConnect/Connect", anonymous, self.qc_connect),
            route("POST", "/QuickConnect/Authorize", default, self.qc_authorize),
        )
        if state.profile.version.startswith("10."):
            # 10.10 and 10.11 still accept the deprecated GET form; 12.0 removed it
            self.routes += (route("GET", "/QuickConnect/Initiate", anonymous, self.qc_initiate),)

    def handle(self, request):
        """Route, authenticate, authorise and run one request; always returns a Response."""
        with self.state.lock:
            try:
                found, parameters = find_route(self.routes, request.method, request.path)
                context = Context(request, self._authorization_info(request))
                self._authorize(context, found.access)
                response = found.handler(context, **parameters)
            except Reply as reply:
                response = reply.response
            except ServiceError as error:
                response = Response(error.status, text=ERROR_TEXT)
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()  # a bug in the fake: answer 500 like ExceptionMiddleware
                response = Response(500, text=ERROR_TEXT)
            if request.method != "GET":
                self.state.save()
            return response

    # authentication and authorization

    def _legacy_enabled(self):
        profile, setting = self.state.profile, self.state.settings.legacy_authorization
        if not profile.legacy_switch or setting is None:
            return profile.legacy_default
        return setting

    def _authorization_header(self, request, legacy):
        if self.state.profile.emby_header_first:
            names = ("X-Emby-Authorization", "Authorization")
        elif legacy:
            names = ("Authorization", "X-Emby-Authorization")
        else:
            names = ("Authorization",)
        return next((value for value in map(request.header, names) if value), None)

    @staticmethod
    def _find_token(parts, request, legacy):
        """Token=, X-Emby-Token*, X-MediaBrowser-Token*, ApiKey, api_key* (*: legacy only)."""
        candidates = [parts.get("Token")]
        if legacy:
            candidates += [request.header("X-Emby-Token"), request.header("X-MediaBrowser-Token")]
        candidates.append(request.query.get("apikey"))
        if legacy:
            candidates.append(request.query.get("api_key"))
        return next((token for token in candidates if token), None)

    def _authorization_info(self, request):
        """AuthorizationContext.GetAuthorizationInfo."""
        legacy = self._legacy_enabled()
        header = self._authorization_header(request, legacy)
        parts = parse_authorization(header, accept_emby=legacy) or {}
        info = AuthInfo(client=parts.get("Client"), device=parts.get("Device"),
                        device_id=parts.get("DeviceId"), version=parts.get("Version"))
        token = self._find_token(parts, request, legacy)
        if token is None or not token.strip():
            return info
        info.token = token
        credential = self.state.resolve_token(token)
        if isinstance(credential, Device):
            self._use_device(info, credential)
        elif isinstance(credential, ApiKey):
            self._use_api_key(info, credential)
        return info

    def _use_device(self, info, device):
        """Fill missing client fields from the device row; a new Device/Version updates it."""
        info.client = info.client if _present(info.client) else device.client
        info.device_id = info.device_id if _present(info.device_id) else device.device_id
        if not _present(info.device):
            info.device = device.device_name
        elif info.device.lower() != device.device_name.lower():
            device.device_name = info.device
        if not _present(info.version):
            info.version = device.version
        elif info.version.lower() != device.version.lower():
            device.version = info.version
        if utc_now() - device.last_activity > DEVICE_ACTIVITY_INTERVAL:
            device.last_activity = utc_now()
        info.user = self.state.users.get(device.user_id)

    def _use_api_key(self, info, key):
        settings = self.state.settings
        info.client = key.app
        info.device_id = info.device_id if _present(info.device_id) else settings.id
        info.device = info.device if _present(info.device) else settings.name
        info.version = info.version if _present(info.version) else self.state.profile.version
        info.api_key = key

    def _authorize(self, context, access):
        """401 without a valid token; 403 when the policy is not met (both with empty bodies)."""
        if access is Access.ANONYMOUS:
            return
        auth = context.auth
        if not auth.authenticated:
            raise Reply(empty(401))
        if auth.api_key is not None:
            return
        user = auth.user
        if access is Access.ELEVATED:
            if not user.is_administrator:
                raise Reply(empty(403))
            return
        if not user.enable_remote_access and not self.state.settings.in_lan(context.client_ip):
            raise Reply(empty(403))
        if (access is Access.DEFAULT and not user.is_administrator
                and not user.schedule_allows_now()):
            raise Reply(empty(403))

    # login

    def authenticate_by_name(self, context):
        body = context.bind_body(AUTHENTICATE_SCHEMA)
        return self._new_session(context, body.get("Username"), body.get("Pw"))

    def authenticate_by_id(self, context, user_id):
        """Obsolete POST /Users/{userId}/Authenticate?pw=, delegating to AuthenticateByName."""
        guid = context.guid(user_id, "userId")
        password = context.query_value("pw")
        if not password:
            raise Reply(validation_problem("pw", "The pw field is required."))
        user = self.state.user_by_id(guid)
        if user is None:
            return json_reply("User not found", 404)
        return self._new_session(context, user.name, password)

    def _new_session(self, context, username, password):
        """SessionManager.AuthenticateNewSessionInternal (enforcePassword)."""
        auth = context.auth
        if not all((auth.client, auth.device, auth.device_id, auth.version)):
            raise ArgumentError()
        user = self.state.authenticate_user(username, password, context.client_ip,
                                            user_session=True)
        if user is None:
            raise AuthenticationError()
        if not user.can_use_device(auth.device_id):
            raise SecurityError()
        if 0 < user.max_active_sessions <= self.state.session_count(user):
            raise SecurityError()
        device, session = self.state.open_session(user, auth, context.client_ip)
        return json_reply({"User": self.dtos.user(user),
                           "SessionInfo": self.dtos.session(session),
                           "AccessToken": device.token,
                           "ServerId": self.state.settings.id})

    def logout(self, context):
        """POST /Sessions/Logout: the caller's device token; a no-op for API keys."""
        self.state.logout_token(context.auth.token)
        return empty(204)

    # users

    def list_users(self, context):
        hidden, disabled = context.query_bool("isHidden"), context.query_bool("isDisabled")
        users = [user for user in self.state.sorted_users()
                 if _matches(hidden, user.is_hidden) and _matches(disabled, user.is_disabled)]
        return json_reply([self.dtos.user(user) for user in users])

    def public_users(self, context):
        users = [user for user in self.state.sorted_users()
                 if not user.is_hidden and not user.is_disabled]
        auth = context.auth
        if auth.authenticated and _present(auth.device_id):
            users = [user for user in users if user.can_use_device(auth.device_id)]
        if not self.state.settings.in_lan(context.client_ip):
            users = [user for user in users if user.enable_remote_access]
        return json_reply([self.dtos.user(user) for user in users])

    def current_user(self, context):
        if context.auth.user is None:
            return problem(400)
        return json_reply(self.dtos.user(context.auth.user))

    def get_user(self, context, user_id):
        user = self.state.user_by_id(context.guid(user_id, "userId"))
        if user is None:
            return json_reply("User not found", 404)
        return json_reply(self.dtos.user(user))

    def create_user(self, context):
        body = context.bind_body(CREATE_USER_SCHEMA, required=("Name",))
        user = self.state.create_user(body["Name"])
        if body.get("Password") is not None:
            self.state.change_password(user, body["Password"])
        return json_reply(self.dtos.user(user))

    def update_user(self, context, user_id=None):
        """POST /Users?userId= (and the older /Users/{userId}): only the rename is kept."""
        body = context.bind_body(UPDATE_USER_SCHEMA)
        user = self.state.user_by_id(self._requested_user_id(context, user_id)
                                     or context.auth.user_id)
        if user is None:
            return problem(404)
        if not can_update_user(context.auth, user):
            return json_reply("User update not allowed.", 403)
        if body.get("Name") != user.name:
            self.state.rename_user(user, body.get("Name"))
        return empty(204)

    def delete_user(self, context, user_id):
        user = self.state.user_by_id(context.guid(user_id, "userId"))
        if user is None:
            return problem(404)
        self.state.revoke_user_tokens(user.id)  # the controller revokes before deleting
        if self.state.is_last_admin(user):
            raise ArgumentError()
        self.state.remove_user(user)
        return empty(204)

    def update_policy(self, context, user_id):
        body = context.bind_body(POLICY_SCHEMA, required=POLICY_REQUIRED)
        user = self.state.user_by_id(context.guid(user_id, "userId"))
        if user is None:
            return problem(404)
        defaults = User(name="", id=ZERO_GUID)  # members absent from the body: UserPolicy defaults
        values = {name: body.get(pascal(name), getattr(defaults, name))
                  for name in POLICY_ATTRIBUTES}
        refusal = self._policy_refusal(user, values)
        if refusal is not None:
            return json_reply(refusal, 403)
        if values["is_disabled"] and not user.is_disabled:
            self.state.revoke_user_tokens(user.id, keep_token=context.auth.token)
        self.state.apply_policy(user, values)
        return empty(204)

    def _policy_refusal(self, user, values):
        users = self.state.users.values()
        if (user.is_administrator and not values["is_administrator"]
                and sum(u.is_administrator for u in users) == 1):
            return "There must be at least one user in the system with administrative access."
        if user.is_administrator and values["is_disabled"]:
            return "Administrators cannot be disabled."
        if values["is_disabled"] and not user.is_disabled and sum(
                not u.is_disabled for u in users) == 1:
            return "There must be at least one enabled user in the system."
        return None

    def change_password(self, context, user_id=None):
        """UserController.UpdateUserPassword."""
        body = context.bind_body(PASSWORD_SCHEMA)
        requested = self._requested_user_id(context, user_id)
        auth = context.auth
        user = self.state.user_by_id(requested or auth.user_id)
        if user is None:
            return json_reply("User not found", 404)
        if not can_update_user(auth, user):
            return json_reply("User is not allowed to update the password.", 403)
        if body.get("ResetPassword"):
            self.state.change_password(user, "")
            return empty(204)
        if not auth.is_admin or requested == auth.user_id:
            checked = self.state.authenticate_user(user.name, body.get("CurrentPw") or "",
                                                   context.client_ip, user_session=False)
            if checked is None:
                return json_reply("Invalid user or password entered.", 403)
        self.state.change_password(user, body.get("NewPw") or "")
        self.state.revoke_user_tokens(user.id, keep_token=auth.token)
        return empty(204)

    @staticmethod
    def _requested_user_id(context, route_value):
        if route_value is not None:
            return context.guid(route_value, "userId")
        return context.query_guid("userId")

    # sessions, keys, system

    def list_sessions(self, context):
        device_id = context.query_value("deviceId")
        active_within = context.query_int("activeWithinSeconds")
        sessions = list(self.state.sessions.values())
        if not context.auth.is_admin:
            sessions = [s for s in sessions if s.user_id == context.auth.user_id]
        if device_id:
            sessions = [s for s in sessions if s.device_id.casefold() == device_id.casefold()]
        if active_within:
            cutoff = utc_now() - timedelta(seconds=active_within)
            sessions = [s for s in sessions if s.last_activity >= cutoff]
        sessions.sort(key=lambda s: s.last_activity, reverse=True)
        return json_reply([self.dtos.session(session) for session in sessions])

    def list_api_keys(self, context):
        items = [self.dtos.api_key(key) for key in self.state.api_keys.values()]
        return json_reply({"Items": items, "TotalRecordCount": len(items), "StartIndex": 0})

    def create_api_key(self, context):
        """POST /Auth/Keys?app=: 204 and, as in the real server, the key is not returned."""
        app = context.query_value("app")
        if not app:
            raise Reply(validation_problem("app", "The app field is required."))
        self.state.add_api_key(app)
        return empty(204)

    def delete_api_key(self, context, key):
        self.state.api_keys.pop(key, None)
        return empty(204)

    def public_system_info(self, context):
        settings = self.state.settings
        return json_reply({"LocalAddress": self.base_url, "ServerName": settings.name,
                           "Version": self.state.profile.version, "ProductName": PRODUCT_NAME,
                           "OperatingSystem": "", "Id": settings.id,
                           "StartupWizardCompleted": True})

    def ping(self, context):
        return json_reply(PRODUCT_NAME)

    # Quick Connect (QuickConnectController, UserController.AuthenticateWithQuickConnect)

    @staticmethod
    def qc_dto(request):
        return {"Authenticated": request.authenticated, "Secret": request.secret,
                "Code": request.code, "DeviceId": request.device_id,
                "DeviceName": request.device_name, "AppName": request.app_name,
                "AppVersion": request.app_version, "DateAdded": format_date(request.added)}

    def qc_enabled(self, context):
        return json_reply(self.state.settings.quick_connect)

    def qc_initiate(self, context):
        try:
            return json_reply(self.qc_dto(self.state.qc_initiate(context.auth)))
        except AuthenticationError:
            return json_reply("Quick connect is disabled", 401)

    def qc_connect(self, context):
        secret = context.query_value("secret")
        if not secret:
            raise Reply(validation_problem("secret", "The secret field is required."))
        try:
            self.state.qc_assert_active()
        except AuthenticationError:
            return json_reply("Quick connect is disabled", 401)
        self.state.qc_expire()
        request = self.state.qc_by_secret(secret)
        if request is None or not self.state.qc_pending(request):
            return json_reply("Unknown secret", 404)
        return json_reply(self.qc_dto(request))

    def qc_authorize(self, context):
        code = context.query_value("code")
        if not code:
            raise Reply(validation_problem("code", "The code field is required."))
        user_id = context.query_guid("userId") or context.auth.user_id
        if user_id != context.auth.user_id and not context.auth.is_admin:
            raise SecurityError()
        user = self.state.user_by_id(user_id)
        if user is None:
            raise ServiceError()
        try:
            request = self.state.qc_authorize(code, user, context.client_ip, self.dtos)
        except AuthenticationError:
            return json_reply("Quick connect is disabled", 401)
        if request is None:
            raise Reply(Response(404, text=ERROR_TEXT))   # ResourceNotFoundException
        return json_reply(True)

    def authenticate_with_quick_connect(self, context):
        body = context.bind_body({"Secret": as_str}, required=("Secret",))
        self.state.qc_assert_active()
        self.state.qc_expire()
        request = self.state.qc_by_secret(body["Secret"])
        if request is None or not request.authenticated:
            raise Reply(Response(404, text=ERROR_TEXT))
        return json_reply(request.result)


def _present(value):
    """Not null, empty or whitespace (string.IsNullOrWhiteSpace negated)."""
    return bool(value and value.strip())


def _matches(wanted, actual):
    return wanted is None or wanted == actual


# --------------------------------------------------------------------------
# Faults


FAULT_MODES = frozenset({"hang", "slow", "slow_body", "400", "500", "502", "503", "malformed",
                         "wrong_types", "huge", "reset", "redirect", "empty"})
FAULT_KEYS = frozenset({"mode", "count", "paths", "delay"})


@dataclass
class Fault:
    mode: str
    remaining: Optional[int]   # None: until cleared
    paths: tuple               # path prefixes, case-insensitive; empty: every path
    delay: float
    released: threading.Event  # set when the fault is cleared or replaced, or at shutdown

    def applies_to(self, path):
        path = path.lower()
        return not self.paths or any(path.startswith(prefix.lower()) for prefix in self.paths)


class FaultController:
    """Holds the active fault. Clearing or replacing it releases hung requests."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fault = None
        self._released = threading.Event()

    def configure(self, spec):
        """Install the fault described by a /__fake/fault body ({"mode": "none"} clears)."""
        if not isinstance(spec, dict) or not set(spec) <= FAULT_KEYS:
            raise ValueError(f"a fault is an object with keys {sorted(FAULT_KEYS)}")
        mode = spec.get("mode")
        if mode != "none" and mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        count = None if spec.get("count") is None else as_int(spec["count"])
        if count is not None and count < 1:
            raise ValueError("count must be a positive integer")
        paths = tuple(as_str_list(spec.get("paths")))
        delay = spec.get("delay", 5 if mode == "slow" else 1)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError("delay must be a number of seconds")
        with self._lock:
            self._released.set()
            self._released = threading.Event()
            self._fault = None if mode == "none" else Fault(
                mode, count, paths, float(delay), self._released)

    def take(self, path):
        """The fault to apply to this request, if any; counts it."""
        with self._lock:
            fault = self._fault
            if fault is None or not fault.applies_to(path):
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._fault = None
            return fault

    def release(self):
        with self._lock:
            self._released.set()
            self._fault = None


def mistype(value, keep_shape=True):
    """The same document with wrong member types: strings become 5, numbers strings,
    booleans "yes", nested objects [] and nested arrays {}."""
    if isinstance(value, dict):
        return {key: mistype(item, False) for key, item in value.items()} if keep_shape else []
    if isinstance(value, list):
        return [mistype(item, True) for item in value] if keep_shape else {}
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return str(value)
    return 5


# --------------------------------------------------------------------------
# Control API (/__fake/)


class Stats:
    """Request counters for /__fake/state."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.requests = 0
            self.auth_requests = 0
            self.last_auth_header = None

    def record(self, request):
        header = request.header("Authorization")
        with self._lock:
            self.requests += 1
            self.auth_requests += request.is_login
            self.last_auth_header = None if header is None else mask_header_token(header)

    def snapshot(self):
        with self._lock:
            return {"requests": self.requests, "auth_requests": self.auth_requests,
                    "last_auth_header": self.last_auth_header}


class ControlApi:
    """/__fake/ endpoints for the tests: loopback callers only, no authentication."""

    def __init__(self, app):
        self.app = app
        self.routes = {
            ("GET", "/__fake/state"): self.show_state,
            ("GET", "/__fake/tokens"): self.show_tokens,
            ("POST", "/__fake/fault"): self.set_fault,
            ("POST", "/__fake/users"): self.patch_users,
            ("POST", "/__fake/server"): self.patch_server,
            ("POST", "/__fake/reset-counters"): self.reset_counters,
            ("POST", "/__fake/shutdown"): self.shutdown,
            ("GET", "/__fake/quick-connect"): self.show_quick_connect,
            ("POST", "/__fake/quick-connect"): self.quick_connect,
        }

    def handle(self, request):
        if not request.client_ip.is_loopback:
            return empty(403)
        handler = self.routes.get((request.method, request.path.rstrip("/").lower()))
        if handler is None:
            return empty(404)
        try:
            return handler(request)
        except ValueError as error:
            return plain_json({"error": str(error)}, 400)

    @staticmethod
    def _body(request):
        document = json.loads(request.body or b"{}")
        if not isinstance(document, dict):
            raise ValueError("the body must be a JSON object")
        return document

    def show_state(self, request):
        state = self.app.state
        with state.lock:
            snapshot = {
                "devices": [{"user_id": d.user_id,
                             "user_name": getattr(state.users.get(d.user_id), "name", None),
                             "device_id": d.device_id, "client": d.client,
                             "device_name": d.device_name, "version": d.version,
                             "token_prefix": d.token[:8]} for d in state.devices.values()],
                "sessions": [{"id": s.id, "user_id": s.user_id, "user_name": s.user_name,
                              "client": s.client, "device_id": s.device_id,
                              "device_name": s.device_name, "version": s.version,
                              "remote_end_point": s.remote_end_point}
                             for s in state.sessions.values()],
                "users": [{"name": u.name, "id": u.id, "is_disabled": u.is_disabled,
                           "invalid_login_attempt_count": u.invalid_login_attempt_count,
                           "has_password": u.has_password} for u in state.sorted_users()],
            }
        snapshot.update(self.app.stats.snapshot())
        return plain_json(snapshot)

    def show_tokens(self, request):
        with self.app.state.lock:
            return plain_json([{"token": d.token, "user_id": d.user_id, "device_id": d.device_id,
                                "client": d.client, "device_name": d.device_name}
                               for d in self.app.state.devices.values()])

    def set_fault(self, request):
        self.app.faults.configure(self._body(request))
        return empty(204)

    def patch_users(self, request):
        """{"upsert": [user, ...], "delete": [id, ...]}: upsert patches only the given keys."""
        document = self._body(request)
        state = self.app.state
        with state.lock:
            for data in document.get("upsert") or []:
                if not isinstance(data, dict):
                    raise ValueError("upsert takes user objects")
                existing = state.users.get(as_guid(data.get("id")))
                if existing is None:
                    user = User.from_data(data)
                    state.users[user.id] = user
                else:
                    existing.update(data)
            for user_id in document.get("delete") or []:
                user = state.users.get(as_guid(user_id))
                if user is not None:
                    state.remove_user(user)
            state.save()
        return empty(204)

    def patch_server(self, request):
        """Patch the data file's server section (name, legacy_authorization, lan_networks)."""
        with self.app.state.lock:
            self.app.state.settings.update(self._body(request))
        return empty(204)

    def show_quick_connect(self, request):
        """The live Quick Connect requests, without their secrets."""
        state = self.app.state
        with state.lock:
            state.qc_expire()
            return plain_json([{"code": r.code, "authenticated": r.authenticated,
                                "pending": state.qc_pending(r), "user_id": r.user_id,
                                "device_id": r.device_id, "device_name": r.device_name,
                                "app_name": r.app_name, "app_version": r.app_version}
                               for r in state.quick_connect.values()])

    def quick_connect(self, request):
        """{"code": C, "user": NAME-or-ID}: approve C as that user (as an administrator's
        POST /QuickConnect/Authorize?code=C&userId=U would); {"advance": S}: move the Quick
        Connect clock S seconds forward (expiry without waiting)."""
        document = self._body(request)
        state = self.app.state
        with state.lock:
            if "advance" in document:
                seconds = document["advance"]
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                    raise ValueError("advance takes a number of seconds")
                state.qc_advance(seconds)
            if "code" in document:
                name = document.get("user")
                if not isinstance(name, str) or not isinstance(document["code"], str):
                    raise ValueError("code and user are strings")
                user = state.user_by_name(name) or state.users.get(parse_guid(name) or "")
                if user is None:
                    raise ValueError(f"no user {name!r}")
                try:
                    done = state.qc_authorize(document["code"], user,
                                              request.client_ip, Dtos(state))
                except ServiceError as error:
                    raise ValueError(f"the server would answer {error.status}") from None
                if done is None:
                    raise ValueError("unknown or expired code")
                state.save()
        return empty(204)

    def reset_counters(self, request):
        self.app.stats.reset()
        return empty(204)

    def shutdown(self, request):
        threading.Thread(target=self.app.stop, daemon=True).start()
        return empty(204)


# --------------------------------------------------------------------------
# HTTP server


class RequestLog:
    """--log: one line per request (time, client, method, path, outcome); no queries, no secrets."""

    _API_KEY_PATH = re.compile(r"(?i)(/auth/keys/)([^/]+)")

    def __init__(self, path):
        self._lock = threading.Lock()
        self._stream = open(path, "a", encoding="utf-8") if path else None

    def write(self, request, outcome):
        if self._stream is None:
            return
        path = self._API_KEY_PATH.sub(lambda m: m.group(1) + mask_secret(m.group(2)), request.path)
        line = f"{format_date(utc_now())} {request.client_ip} {request.method} {path} {outcome}\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def close(self):
        if self._stream is not None:
            self._stream.close()


class App:
    """What the connection threads of one server share."""

    def __init__(self, server, state, log_path):
        self.server = server
        self.state = state
        self.api = JellyfinApi(state, server.base_url)
        self.control = ControlApi(self)
        self.faults = FaultController()
        self.stats = Stats()
        self.log = RequestLog(log_path)
        self.stopping = threading.Event()

    def stop(self):
        """Release hung requests and stop serve_forever (call from a thread other than it)."""
        self.stopping.set()
        self.faults.release()
        self.server.shutdown()


class RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler; every answer carries a correct Content-Length."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self):
        super().setup()
        # Like Kestrel: no Nagle delay between the header and body writes.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return "Kestrel"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: requests are logged to --log by the app instead."""

    def _dispatch(self):
        request = self._read_request()
        if request is None:
            return
        app = self.server.app
        if request.is_control:
            self._answer(request, app.control.handle(request))
            return
        app.stats.record(request)
        fault = app.faults.take(request.path)
        if fault is None:
            self._answer(request, app.api.handle(request))
        elif fault.mode in ("400", "500", "502", "503"):
            self._send_status_fault(request, fault)
        else:  # the _fault_<mode> methods below
            getattr(self, "_fault_" + fault.mode)(request, fault)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

    # reading

    def _read_request(self):
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self.send_error(400)
            return None
        target = self.path.split("#")[0]
        path, _, query_string = target.partition("?")
        query = {}
        for name, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True):
            query.setdefault(name.lower(), value)
        address = ipaddress.ip_address(self.client_address[0].split("%")[0])
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return Request(self.command, urllib.parse.unquote(path) or "/", query, self.headers,
                       body, address)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)

    def _read_chunked(self):
        chunks = []
        while True:
            size = int(self.rfile.readline(65537).split(b";")[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline(65537).strip():
            pass  # trailer fields
        return b"".join(chunks)

    # writing

    def _send_head(self, status, length, content_type=None, headers=()):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, status, body=b"", content_type=None, headers=()):
        self._send_head(status, len(body), content_type, headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _answer(self, request, response, note=""):
        body, content_type = response.render(request.camel_case)
        self._send(response.status, body, content_type, response.headers.items())
        self.server.app.log.write(request, f"{response.status}{note}")

    def _abandon(self):
        self.close_connection = True

    # faults

    def _answer_after_fault(self, request, fault):
        self._answer(request, self.server.app.api.handle(request), f" fault={fault.mode}")

    def _fault_hang(self, request, fault):
        fault.released.wait()
        if self.server.app.stopping.is_set():
            self._abandon()
        else:
            self._answer_after_fault(request, fault)

    def _fault_slow(self, request, fault):
        if self.server.app.stopping.wait(fault.delay):
            self._abandon()
        else:
            self._answer_after_fault(request, fault)

    def _fault_slow_body(self, request, fault):
        response = self.server.app.api.handle(request)
        body, content_type = response.render(request.camel_case)
        self._send_head(response.status, len(body), content_type, response.headers.items())
        self.server.app.log.write(request, f"{response.status} fault=slow_body")
        for index in range(len(body)):
            self.wfile.write(body[index:index + 1])
            if self.server.app.stopping.wait(fault.delay):
                self._abandon()
                return

    def _send_status_fault(self, request, fault):
        status = int(fault.mode)
        # 400 is what a proxy that eats the Authorization header causes
        # (jellyfin#13511): the four client fields are missing.
        if status in (400, 500):
            self._send(status, ERROR_TEXT.encode(), "text/plain")
        else:
            self._send(status)
        self.server.app.log.write(request, f"{status} fault={fault.mode}")

    def _fault_malformed(self, request, fault):
        body, _ = self.server.app.api.handle(request).render(request.camel_case)
        truncated = body[:len(body) // 2] if len(body) > 1 else b'{"User":{"Name":'
        self._send(200, truncated, JSON_CONTENT_TYPE)
        self.server.app.log.write(request, "200 fault=malformed")

    def _fault_wrong_types(self, request, fault):
        payload = self.server.app.api.handle(request).payload
        garbled = {"Id": 5, "User": []} if payload is None else mistype(payload)
        self._send(200, encode_json(garbled, request.camel_case).encode(), JSON_CONTENT_TYPE)
        self.server.app.log.write(request, "200 fault=wrong_types")

    def _fault_huge(self, request, fault):
        prefix, suffix = b'{"Items":"', b'"}'
        self._send_head(200, HUGE_BODY_SIZE, JSON_CONTENT_TYPE)
        self.server.app.log.write(request, "200 fault=huge")
        self.wfile.write(prefix)
        chunk = b"A" * 65536
        remaining = HUGE_BODY_SIZE - len(prefix) - len(suffix)
        while remaining > 0:
            self.wfile.write(chunk[:remaining])
            remaining -= len(chunk)
        self.wfile.write(suffix)

    def _fault_reset(self, request, fault):
        self.server.app.log.write(request, "reset fault=reset")
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drops the last makefile reference, so close() below sends the RST
        self.connection.close()
        self._abandon()

    def _fault_redirect(self, request, fault):
        self._send(302, headers=[("Location", "http://127.0.0.1:1/")])
        self.server.app.log.write(request, "302 fault=redirect")

    def _fault_empty(self, request, fault):
        self._send(200, b"", JSON_CONTENT_TYPE)
        self.server.app.log.write(request, "200 fault=empty")


class FakeJellyfinServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server; TLS handshakes run in the connection's own thread."""

    daemon_threads = True

    def __init__(self, address, tls_context=None):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.tls_context = tls_context
        self.app = None
        super().__init__(address, RequestHandler)

    @property
    def base_url(self):
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls_context else 'http'}://{host}:{port}"

    def server_bind(self):
        """Bind without HTTPServer's reverse DNS lookup of the host."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection = self.tls_context.wrap_socket(request, server_side=True)
        except OSError:
            return  # failed or timed-out handshake; the socket is already closed
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            self.shutdown_request(connection)

    def handle_error(self, request, client_address):
        """Clients that vanish, reset or fail TLS are normal here; anything else is a bug."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def make_tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


# --------------------------------------------------------------------------
# Command line


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Fake Jellyfin server for jellyfin-auth tests.")
    parser.add_argument("--data", required=True, help="JSON data file (users, API keys, server)")
    parser.add_argument("--port-file", required=True,
                        help="written atomically with the port once listening")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--version", choices=sorted(PROFILES), default="12.0",
                        help="Jellyfin behaviour to imitate")
    parser.add_argument("--state-file", help="persist users, API keys and tokens here")
    parser.add_argument("--log", help="append one line per request to this file")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        state = load_state(args.data, args.state_file, PROFILES[args.version])
        state.save()
        tls = make_tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
        server = FakeJellyfinServer((args.host, args.port), tls)
    except (OSError, ValueError) as error:
        print(f"fake_jellyfin: {error}", file=sys.stderr)
        return 2
    app = App(server, state, args.log)
    server.app = app

    def request_stop(signum, frame):
        threading.Thread(target=app.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    write_atomic(args.port_file, f"{server.server_port}\n", mode=0o644)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        app.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
