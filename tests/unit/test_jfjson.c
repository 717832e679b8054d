/*
 * tests/unit/test_jfjson.c - unit tests for lib/jfjson.c.
 *
 * Owns: decoding real-shaped Jellyfin answers (12.0 AuthenticationResult
 * and UserDto built from the field lists in jellyfin-api.md, camelCase,
 * missing optionals, unknown fields, nulls), refusing wrong types with the
 * field named, GUID forms, nesting and truncation limits, user and API key
 * lists, system info, and the password-bearing request bodies. The
 * streaming user-list decoder is checked against the whole-document
 * reference in jfjson_ref.h: 1000 generated users of varied shapes, broken
 * lists (with the old messages), whitespace, duplicate keys and nesting
 * edges, and 600 mutations of a small list.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "jfjson.h"
#include "jfjson_ref.h"

#define UID1 "4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3d"
#define UID2 "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define SRV "e3b0c44298fc1c149afbf4c8996fb924"
#define TOKEN "9f86d081884c7d659a2feaa0c55ad015"

/* A 12.0 UserDto, PascalCase, nulls omitted, as UserManager.GetUserDto writes it. */
#define USERDTO(name, id, extra_policy)                                                            \
    "{\"Name\":\"" name "\",\"ServerId\":\"" SRV "\",\"Id\":\"" id "\","                           \
    "\"PrimaryImageTag\":\"abc\",\"HasPassword\":true,\"HasConfiguredPassword\":true,"             \
    "\"HasConfiguredEasyPassword\":false,\"EnableAutoLogin\":false,"                               \
    "\"LastLoginDate\":\"2026-11-29T21:04:05.1234567Z\","                                          \
    "\"LastActivityDate\":\"2026-11-29T21:05:00.0000000Z\","                                       \
    "\"Configuration\":{\"PlayDefaultAudioTrack\":true,\"SubtitleLanguagePreference\":\"\","       \
    "\"DisplayMissingEpisodes\":false,\"GroupedFolders\":[],\"SubtitleMode\":\"Default\","         \
    "\"OrderedViews\":[],\"LatestItemsExcludes\":[],\"MyMediaExcludes\":[],"                       \
    "\"HidePlayedInLatest\":true,\"RememberAudioSelections\":true,"                                \
    "\"RememberSubtitleSelections\":true,\"EnableNextEpisodeAutoPlay\":true,"                      \
    "\"CastReceiverId\":\"F007D354\"},"                                                            \
    "\"Policy\":{\"IsAdministrator\":false,\"IsHidden\":true,\"EnableCollectionManagement\":"      \
    "false,\"EnableSubtitleManagement\":false,\"EnableLyricManagement\":false,"                    \
    "\"IsDisabled\":false,\"MaxParentalSubRating\":null,\"BlockedTags\":[],\"AllowedTags\":[],"    \
    "\"EnableUserPreferenceAccess\":true,\"AccessSchedules\":[],\"BlockUnratedItems\":[],"         \
    "\"EnableRemoteControlOfOtherUsers\":false,\"EnableSharedDeviceControl\":true,"                \
    "\"EnableRemoteAccess\":true,\"EnableLiveTvManagement\":false,\"EnableLiveTvAccess\":true,"    \
    "\"EnableMediaPlayback\":true,\"EnableAudioPlaybackTranscoding\":true,"                        \
    "\"EnableVideoPlaybackTranscoding\":true,\"EnablePlaybackRemuxing\":true,"                     \
    "\"ForceRemoteSourceTranscoding\":false,\"EnableContentDeletion\":false,"                      \
    "\"EnableContentDeletionFromFolders\":[],\"EnableContentDownloading\":true,"                   \
    "\"EnableSyncTranscoding\":true,\"EnableMediaConversion\":true,\"EnabledDevices\":[],"         \
    "\"EnableAllDevices\":true,\"EnabledChannels\":[],\"EnableAllChannels\":true,"                 \
    "\"EnabledFolders\":[],\"EnableAllFolders\":true,\"InvalidLoginAttemptCount\":2,"              \
    "\"LoginAttemptsBeforeLockout\":-1,\"MaxActiveSessions\":0,\"EnablePublicSharing\":true,"      \
    "\"BlockedMediaFolders\":[],\"BlockedChannels\":[],\"RemoteClientBitrateLimit\":0,"            \
    "\"AuthenticationProviderId\":"                                                                \
    "\"Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider\","                     \
    "\"PasswordResetProviderId\":"                                                                 \
    "\"Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider\","                      \
    "\"SyncPlayAccess\":\"CreateAndJoinGroups\"" extra_policy "}}"

static const char auth_result_12[] = "{\"User\":" USERDTO(
    "J\xc3\xb6hn Doe", UID1,
    "") ","
        "\"SessionInfo\":{\"PlayState\":{\"CanSeek\":false,\"IsPaused\":false,\"IsMuted\":false,"
        "\"RepeatMode\":\"RepeatNone\",\"PlaybackOrder\":\"Default\"},\"AdditionalUsers\":[],"
        "\"Capabilities\":{\"PlayableMediaTypes\":[],\"SupportedCommands\":[],"
        "\"SupportsMediaControl\":false,\"SupportsPersistentIdentifier\":true},"
        "\"RemoteEndPoint\":\"127.0.0.1\",\"PlayableMediaTypes\":[],"
        "\"Id\":\"0123456789abcdef0123456789abcdef\",\"UserId\":\"" UID1 "\","
        "\"UserName\":\"J\xc3\xb6hn Doe\",\"Client\":\"pam_jellyfin\","
        "\"LastActivityDate\":\"2026-11-29T21:05:00.0000000Z\","
        "\"LastPlaybackCheckIn\":\"0001-01-01T00:00:00.0000000Z\",\"DeviceName\":\"host1\","
        "\"DeviceId\":\"ffeeddccbbaa99887766554433221100\",\"ApplicationVersion\":\"0.1.0\","
        "\"IsActive\":true,\"SupportsMediaControl\":false,\"SupportsRemoteControl\":false,"
        "\"NowPlayingQueue\":[],\"NowPlayingQueueFullItems\":[],\"HasCustomDeviceName\":false,"
        "\"ServerId\":\"" SRV "\",\"SupportedCommands\":[]},"
        "\"AccessToken\":\"" TOKEN "\",\"ServerId\":\"" SRV "\"}";

#define LIT(s) s, sizeof(s) - 1

static char err[512];

static void test_auth_result_12(void **state)
{
    struct jfa_auth_result r;

    (void)state;
    assert_int_equal(
        jfa_json_auth_result(auth_result_12, strlen(auth_result_12), &r, err, sizeof(err)), 0);
    assert_string_equal(r.user.name, "J\xc3\xb6hn Doe");
    assert_string_equal(r.user.id, UID1);
    assert_string_equal(r.user.server_id, SRV);
    assert_true(r.user.has_password);
    assert_string_equal(r.user.last_login_date, "2026-11-29T21:04:05.1234567Z");
    assert_false(r.user.policy.is_administrator);
    assert_true(r.user.policy.is_hidden);
    assert_false(r.user.policy.is_disabled);
    assert_true(r.user.policy.enable_remote_access);
    assert_true(r.user.policy.enable_all_devices);
    assert_true(r.user.policy.enable_user_preference_access);
    assert_int_equal(r.user.policy.login_attempts_before_lockout, -1);
    assert_int_equal(r.user.policy.invalid_login_attempt_count, 2);
    assert_int_equal(r.user.policy.max_active_sessions, 0);
    assert_string_equal(r.user.policy.authentication_provider_id,
                        "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider");
    assert_string_equal(r.access_token, TOKEN);
    assert_string_equal(r.server_id, SRV);
    assert_string_equal(r.session_id, "0123456789abcdef0123456789abcdef");
    jfa_auth_result_free(&r);
    assert_null(r.access_token);
    jfa_auth_result_free(&r); /* idempotent */
}

static void test_auth_result_camel_minimal(void **state)
{
    struct jfa_auth_result r;
    /* camelCase, dashed upper-case GUID, no optionals, unknown fields, nulls */
    const char *doc = "{\"user\":{\"name\":\"alice\",\"id\":\"4F2A9C0E-8B1D-4E6F-A3C5-"
                      "7D9E0B1A2C3D\",\"serverId\":null,\"policy\":null,\"zzz\":[1,2,{}]},"
                      "\"accessToken\":\"" TOKEN "\",\"sessionInfo\":null,\"extra\":1.5}";

    (void)state;
    assert_int_equal(jfa_json_auth_result(doc, strlen(doc), &r, err, sizeof(err)), 0);
    assert_string_equal(r.user.name, "alice");
    assert_string_equal(r.user.id, UID1);
    assert_null(r.user.server_id);
    assert_null(r.user.last_login_date);
    assert_false(r.user.has_password);
    /* Policy absent: the documented defaults */
    assert_false(r.user.policy.is_administrator);
    assert_false(r.user.policy.is_hidden);
    assert_false(r.user.policy.is_disabled);
    assert_true(r.user.policy.enable_remote_access);
    assert_true(r.user.policy.enable_all_devices);
    assert_true(r.user.policy.enable_user_preference_access);
    assert_int_equal(r.user.policy.login_attempts_before_lockout, -1);
    assert_null(r.user.policy.authentication_provider_id);
    assert_null(r.server_id);
    assert_string_equal(r.session_id, "");
    assert_string_equal(r.access_token, TOKEN);
    jfa_auth_result_free(&r);
}

static void test_disabled_admin_policy(void **state)
{
    struct jfa_user u;
    const char *doc = "{\"Name\":\"root-ish\",\"Id\":\"" UID2 "\",\"Policy\":{"
                      "\"IsAdministrator\":true,\"IsDisabled\":true,\"EnableRemoteAccess\":false,"
                      "\"EnableAllDevices\":false,\"EnableUserPreferenceAccess\":false,"
                      "\"LoginAttemptsBeforeLockout\":3,\"MaxActiveSessions\":2,"
                      "\"AuthenticationProviderId\":null}}";

    (void)state;
    assert_int_equal(jfa_json_user(doc, strlen(doc), &u, err, sizeof(err)), 0);
    assert_true(u.policy.is_administrator);
    assert_true(u.policy.is_disabled);
    assert_false(u.policy.enable_remote_access);
    assert_false(u.policy.enable_all_devices);
    assert_false(u.policy.enable_user_preference_access);
    assert_int_equal(u.policy.login_attempts_before_lockout, 3);
    assert_int_equal(u.policy.max_active_sessions, 2);
    assert_null(u.policy.authentication_provider_id);
    jfa_user_free(&u);
}

struct bad_case {
    const char *doc;
    const char *msg; /* expected substring of err */
};

static void test_auth_result_wrong_types(void **state)
{
    static const struct bad_case cases[] = {
        {"{\"User\":{\"Name\":5,\"Id\":\"" UID1 "\"},\"AccessToken\":\"t\"}",
         "User.Name: expected a string"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":17},\"AccessToken\":\"t\"}",
         "User.Id: expected a string"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"nope\"},\"AccessToken\":\"t\"}",
         "User.Id: not a GUID"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1 "\"},\"AccessToken\":true}",
         "AccessToken: expected a string"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1 "\"},\"AccessToken\":\"\"}",
         "AccessToken: empty"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1 "\"}}", "AccessToken: missing"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1 "\"},\"AccessToken\":null}",
         "AccessToken: missing"},
        {"{\"User\":{\"Id\":\"" UID1 "\"},\"AccessToken\":\"t\"}", "User.Name: missing"},
        {"{\"User\":{\"Name\":\"\",\"Id\":\"" UID1 "\"},\"AccessToken\":\"t\"}",
         "User.Name: empty"},
        {"{\"User\":{\"Name\":\"a\\u0000b\",\"Id\":\"" UID1 "\"},\"AccessToken\":\"t\"}",
         "User.Name: contains a NUL"},
        {"{\"User\":{\"Name\":\"a\"},\"AccessToken\":\"t\"}", "User.Id: missing"},
        {"{\"AccessToken\":\"t\"}", "User: missing"},
        {"{\"User\":[],\"AccessToken\":\"t\"}", "User: expected an object"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1 "\",\"Policy\":[]},\"AccessToken\":\"t\"}",
         "User.Policy: expected an object"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1
         "\",\"Policy\":{\"IsDisabled\":\"false\"}},\"AccessToken\":\"t\"}",
         "User.Policy.IsDisabled: expected a boolean"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1
         "\",\"Policy\":{\"IsAdministrator\":1}},\"AccessToken\":\"t\"}",
         "User.Policy.IsAdministrator: expected a boolean"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1
         "\",\"Policy\":{\"LoginAttemptsBeforeLockout\":\"3\"}},\"AccessToken\":\"t\"}",
         "User.Policy.LoginAttemptsBeforeLockout: expected an integer"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1
         "\",\"Policy\":{\"MaxActiveSessions\":99999999999}},\"AccessToken\":\"t\"}",
         "User.Policy.MaxActiveSessions: integer out of range"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1
         "\",\"HasPassword\":\"yes\"},\"AccessToken\":\"t\"}",
         "User.HasPassword: expected a boolean"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1 "\"},\"AccessToken\":\"t\","
         "\"SessionInfo\":{\"Id\":\"xyz\"}}",
         "SessionInfo.Id: not a GUID"},
        {"{\"User\":{\"Name\":\"a\",\"Id\":\"" UID1 "\"},\"AccessToken\":\"t\","
         "\"SessionInfo\":7}",
         "SessionInfo: expected an object"},
        {"[]", "expected a JSON object"},
        {"\"string\"", "expected a JSON object"},
        {"null", "expected a JSON object"},
    };
    struct jfa_auth_result r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        if (jfa_json_auth_result(cases[i].doc, strlen(cases[i].doc), &r, err, sizeof(err)) != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].doc);
        if (strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: err '%s' lacks '%s'", i, err, cases[i].msg);
        /* out is zeroed and safe to free */
        assert_null(r.access_token);
        assert_null(r.user.name);
        jfa_auth_result_free(&r);
    }
}

static void test_malformed_documents(void **state)
{
    static const struct bad_case cases[] = {
        {"", "empty body"},
        {"{\"User\":{\"Name\":\"a\"", "truncated"},
        {"{\"User\":", "truncated"},
        {"{\"a\":1} x", "invalid JSON"},
        {"{\"a\":1}{}", "invalid JSON"},
        {"{'a':1}", ""}, /* json-c takes single quotes; still refused (no Name) */
        {"{\"a\":1,}", "invalid JSON"},
        {"{\"a\":\"\xff\xfe\"}", "invalid JSON"},
        {"Error processing request.", "invalid JSON"},
    };
    struct jfa_user u;
    char deep[200];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        if (jfa_json_user(cases[i].doc, strlen(cases[i].doc), &u, err, sizeof(err)) != -1)
            fail_msg("case %zu accepted", i);
        if (strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: err '%s' lacks '%s'", i, err, cases[i].msg);
        jfa_user_free(&u);
    }
    /* NUL inside the buffer */
    assert_int_equal(jfa_json_user(LIT("{}\0{}"), &u, err, sizeof(err)), -1);
    /* NULL buffer */
    assert_int_equal(jfa_json_user(NULL, 0, &u, err, sizeof(err)), -1);

    /* nesting: 40 levels inside an otherwise valid user is refused */
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"Name\":\"a\",\"Id\":\"%s\",\"x\":", UID1);
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    for (int i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(jfa_json_user(deep, n, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    /* while 20 levels are fine */
    n = (size_t)snprintf(deep, sizeof(deep), "{\"Name\":\"a\",\"Id\":\"%s\",\"x\":", UID1);
    for (int i = 0; i < 20; i++)
        deep[n++] = '[';
    for (int i = 0; i < 20; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(jfa_json_user(deep, n, &u, err, sizeof(err)), 0);
    jfa_user_free(&u);

    /* trailing whitespace is fine */
    assert_int_equal(
        jfa_json_user(LIT("{\"Name\":\"a\",\"Id\":\"" UID1 "\"}\r\n "), &u, err, sizeof(err)), 0);
    jfa_user_free(&u);
}

static void test_user_list(void **state)
{
    static const char many[] = "[" USERDTO("alice", UID1, "") "," USERDTO(
        "bob", "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9", ",\"IsDisabled\":true") "]";
    struct jfa_user_list l;

    (void)state;
    assert_int_equal(jfa_json_user_list(LIT("[]"), &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    jfa_user_list_free(&l);

    assert_int_equal(
        jfa_json_user_list(LIT("[{\"Name\":\"x\",\"Id\":\"" UID2 "\"}]"), &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.users[0].name, "x");
    assert_string_equal(l.users[0].id, UID2);
    jfa_user_list_free(&l);

    /* "IsDisabled" appears twice in bob's Policy: json-c keeps the last one */
    assert_int_equal(jfa_json_user_list(many, strlen(many), &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.users[0].name, "alice");
    assert_false(l.users[0].policy.is_disabled);
    assert_string_equal(l.users[1].name, "bob");
    assert_string_equal(l.users[1].id, UID2);
    assert_true(l.users[1].policy.is_disabled);
    assert_true(l.users[1].policy.is_hidden);
    jfa_user_list_free(&l);

    /* errors name the element */
    err[0] = '\0';
    assert_int_equal(jfa_json_user_list(LIT("[{\"Name\":\"x\",\"Id\":\"" UID2
                                            "\"},{\"Name\":\"y\",\"Id\":false}]"),
                                        &l, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "Users[1].Id: expected a string"));
    assert_int_equal(l.n, 0);
    assert_null(l.users);
    assert_int_equal(jfa_json_user_list(LIT("[1]"), &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Users[0]: expected an object"));
    assert_int_equal(jfa_json_user_list(LIT("[null]"), &l, err, sizeof(err)), -1);
    assert_int_equal(jfa_json_user_list(LIT("{}"), &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected a JSON array"));
    jfa_user_list_free(&l);
}

/*
 * The streaming list decoder against the whole-document reference
 * (tests/unit/jfjson_ref.h). gen_users writes n users of varied shapes:
 * PascalCase or camelCase, every GUID form, nulls, missing optionals, unknown
 * nested fields, duplicate keys, escapes, and whitespace between all tokens.
 * expect[] (if not NULL) receives what some fields must decode to.
 */
struct gen_expect {
    char name[32];
    bool disabled; /* Policy.IsDisabled as decoded (last duplicate wins) */
    int max_sessions;
    bool no_policy; /* Policy absent or null: every default */
};

static uint32_t gen_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static const char *gen_ws(uint32_t *s)
{
    static const char *const ws[] = {"", " ", "\n", "\t", "\r\n", "  \n\t"};

    return ws[gen_rand(s) % 6];
}

/* The same GUID in one of the five forms Guid.Parse accepts (i < 4096). */
static void gen_id(char *id, size_t size, unsigned form, unsigned a, size_t i)
{
    switch (form) {
    case 0:
        snprintf(id, size, "%08x4e5f607182%03zx4b5c6d7e8f9", a, i);
        break;
    case 1:
        snprintf(id, size, "%08X4E5F607182%03zX4B5C6D7E8F9", a, i);
        break;
    case 2:
        snprintf(id, size, "%08x-4e5f-6071-8293-a4b5c6d%05zx", a, i);
        break;
    case 3:
        snprintf(id, size, "{%08x-4E5F-6071-8293-A4B5C6D%05zX}", a, i);
        break;
    default:
        snprintf(id, size, "(%08x-4e5f-6071-8293-a4b5c6d%05zx)", a, i);
        break;
    }
}

static char *gen_users(size_t n, uint32_t seed, struct gen_expect *expect, size_t *lenp)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    uint32_t s = seed;

    assert_non_null(f);
    fprintf(f, "%s[", gen_ws(&s));
    for (size_t i = 0; i < n; i++) {
        bool camel = gen_rand(&s) % 2;
        unsigned sh = gen_rand(&s) % 4;
        char id[64];
        bool dis = false;
        int maxs = 0;

        gen_id(id, sizeof(id), gen_rand(&s) % 5, (unsigned)gen_rand(&s) * 7919u, i);
        if (i > 0)
            fprintf(f, "%s,", gen_ws(&s));
        fprintf(f, "%s{%s\"%s\"%s:%s", gen_ws(&s), gen_ws(&s), camel ? "name" : "Name", gen_ws(&s),
                gen_ws(&s));
        switch (i % 4) {
        case 0:
            fprintf(f, "\"user%05zu\"", i);
            if (expect != NULL)
                snprintf(expect[i].name, sizeof(expect[i].name), "user%05zu", i);
            break;
        case 1:
            fprintf(f, "\"J\\u00f6rg-%05zu\"", i);
            if (expect != NULL)
                snprintf(expect[i].name, sizeof(expect[i].name), "J\xc3\xb6rg-%05zu", i);
            break;
        case 2:
            fprintf(f, "\"J\xc3\xb6rg \\\"q\\/%05zu\"", i);
            if (expect != NULL)
                snprintf(expect[i].name, sizeof(expect[i].name), "J\xc3\xb6rg \"q/%05zu", i);
            break;
        default:
            fprintf(f, "\"\\ud83d\\ude00%05zu\"", i);
            if (expect != NULL)
                snprintf(expect[i].name, sizeof(expect[i].name), "\xf0\x9f\x98\x80%05zu", i);
            break;
        }
        fprintf(f, ",%s\"%s\":\"%s\"", gen_ws(&s), camel ? "id" : "Id", id);
        switch (gen_rand(&s) % 4) {
        case 0:
            fprintf(f, ",\"ServerId\":\"" SRV "\"");
            break;
        case 1:
            fprintf(f, ",\"serverId\":null");
            break;
        case 2:
            fprintf(f, ",\"ServerId\":\"not-a-guid\"");
            break;
        default:
            break;
        }
        switch (gen_rand(&s) % 4) {
        case 0:
            fprintf(f, ",\"HasPassword\":true");
            break;
        case 1:
            fprintf(f, ",\"hasPassword\":false");
            break;
        case 2:
            fprintf(f, ",\"HasPassword\":null");
            break;
        default:
            break;
        }
        if (gen_rand(&s) % 2)
            fprintf(f, ",\"LastLoginDate\":\"2026-11-%02zuT21:04:05Z\"", 1 + i % 28);
        else if (gen_rand(&s) % 2)
            fprintf(f, ",\"lastLoginDate\":null");
        /* unknown fields of every type, nested */
        fprintf(f,
                ",\"Configuration\":{\"A\":[1,-0,1.5e3,12345678901234,true,null,\"x\\n\"],"
                "\"B\":{\"C\":[[],{}],\"D\":-1.25E-2}},\"PrimaryImageTag\":null%s",
                gen_ws(&s));
        if (sh == 0) {
            /* no Policy at all: defaults */
        } else if (sh == 1) {
            fprintf(f, ",\"Policy\":null");
        } else {
            bool admin = gen_rand(&s) % 2;

            dis = gen_rand(&s) % 2;
            maxs = (int)(gen_rand(&s) % 1000);
            fprintf(f,
                    ",%s\"%s\":%s{\"%s\":%s,\"IsHidden\":%s,\"%s\":%s,\"EnabledDevices\":[],"
                    "\"MaxActiveSessions\":%d,\"LoginAttemptsBeforeLockout\":%d,"
                    "\"InvalidLoginAttemptCount\":%u,\"EnableRemoteAccess\":%s,"
                    "\"enableAllDevices\":%s,\"EnableUserPreferenceAccess\":%s,"
                    "\"AuthenticationProviderId\":%s,\"AccessSchedules\":[{\"x\":1}]",
                    gen_ws(&s), camel ? "policy" : "Policy", gen_ws(&s),
                    camel ? "isAdministrator" : "IsAdministrator", admin ? "true" : "false",
                    gen_rand(&s) % 2 ? "true" : "false", camel ? "isDisabled" : "IsDisabled",
                    dis ? "false" : "true", maxs, (int)(gen_rand(&s) % 7) - 1, gen_rand(&s) % 5,
                    gen_rand(&s) % 2 ? "true" : "false", gen_rand(&s) % 2 ? "true" : "false",
                    gen_rand(&s) % 2 ? "true" : "false",
                    gen_rand(&s) % 2 ? "null" : "\"Jellyfin.Server.Implementations.Users.X\"");
            /* a duplicate of the same spelling: the later value wins */
            fprintf(f, ",\"%s\":%s}", camel ? "isDisabled" : "IsDisabled", dis ? "true" : "false");
        }
        fprintf(f, "%s}", gen_ws(&s));
        if (expect != NULL) {
            expect[i].disabled = dis;
            expect[i].max_sessions = maxs;
            expect[i].no_policy = sh < 2;
        }
    }
    fprintf(f, "%s]%s", gen_ws(&s), gen_ws(&s));
    assert_int_equal(fclose(f), 0);
    *lenp = len;
    return buf;
}

static void test_user_list_matches_reference(void **state)
{
    enum { N = 1000 };
    struct gen_expect *ex = calloc(N, sizeof(*ex));
    struct jfa_user_list l, r;
    size_t len;
    char *doc;
    int rc, rrc;

    (void)state;
    assert_non_null(ex);
    doc = gen_users(N, 42, ex, &len);
    err[0] = '\0';
    rc = jfa_json_user_list(doc, len, &l, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    rrc = jfa_ref_user_list(doc, len, &r);
    assert_int_equal(rrc, 0);
    assert_int_equal(l.n, N);
    assert_true(jfa_ref_lists_agree(rc, &l, rrc, &r));
    for (size_t i = 0; i < N; i++) {
        assert_string_equal(l.users[i].name, ex[i].name);
        assert_int_equal(strlen(l.users[i].id), 32);
        assert_int_equal(l.users[i].policy.is_disabled, ex[i].disabled);
        assert_int_equal(l.users[i].policy.max_active_sessions, ex[i].max_sessions);
    }
    /* defaults when Policy is absent or null */
    for (size_t i = 0; i < N; i++) {
        const struct jfa_policy *p = &l.users[i].policy;

        if (!ex[i].no_policy)
            continue;
        assert_false(p->is_administrator);
        assert_false(p->is_hidden);
        assert_false(p->is_disabled);
        assert_true(p->enable_remote_access);
        assert_true(p->enable_all_devices);
        assert_true(p->enable_user_preference_access);
        assert_int_equal(p->login_attempts_before_lockout, -1);
        assert_int_equal(p->invalid_login_attempt_count, 0);
        assert_null(p->authentication_provider_id);
    }
    jfa_user_list_free(&l);
    jfa_user_list_free(&r);
    free(doc);
    free(ex);
}

/* Every kind of broken list is refused with the whole-document message. */
static void test_user_list_stream_errors(void **state)
{
    static const struct {
        const char *doc;
        const char *msg;
    } cases[] = {
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}", "Users: truncated JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"},", "Users: truncated JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"", "Users: truncated JSON"},
        {"[", "Users: truncated JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"},]", "Users: invalid JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}{}]", "Users: invalid JSON"},
        {"[,{\"Name\":\"x\",\"Id\":\"" UID1 "\"}]", "Users: invalid JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}] x", "Users: invalid JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}][]", "Users: invalid JSON"},
        {"[]\v", "Users: invalid JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}/* c */]", "Users: invalid JSON"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\",}]", "Users: invalid JSON"},
        {"[{\"Name\":\"\xff\",\"Id\":\"" UID1 "\"}]", "Users: invalid JSON"},
        {"[{\"Name\":\"x\\u0000y\",\"Id\":\"" UID1 "\"}]", "Users[0].Name: contains a NUL"},
        {"[{\"Name\":\"\",\"Id\":\"" UID1 "\"}]", "Users[0].Name: empty"},
        {"[{\"Id\":\"" UID1 "\"}]", "Users[0].Name: missing"},
        {"[{\"Name\":\"x\",\"Id\":\"zz\"}]", "Users[0].Id: not a GUID"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"},{\"Name\":\"y\",\"Id\":\"" UID2
         "\",\"Policy\":{\"IsDisabled\":1}}]",
         "Users[1].Policy.IsDisabled: expected a boolean"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"Policy\":{\"MaxActiveSessions\":1.5}}]",
         "Users[0].Policy.MaxActiveSessions: expected an integer"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1
         "\",\"Policy\":{\"InvalidLoginAttemptCount\":4294967296}}]",
         "Users[0].Policy.InvalidLoginAttemptCount: integer out of range"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"Policy\":[]}]",
         "Users[0].Policy: expected an object"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"},\"y\"]", "Users[1]: expected an object"},
        {"[{\"Name\":\"x\",\"Id\":\"" UID1 "\"},null]", "Users[1]: missing"},
        {"[true]", "Users[0]: expected an object"},
        {"[12]", "Users[0]: expected an object"},
        {"\"[]\"", "Users: expected a JSON array"},
        {"null", "Users: expected a JSON array"},
        {" x[]", "Users: invalid JSON"},
        {"", "Users: empty body"},
    };
    struct jfa_user_list l, r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].doc);

        err[0] = '\0';
        if (jfa_json_user_list(cases[i].doc, len, &l, err, sizeof(err)) != -1)
            fail_msg("case %zu accepted", i);
        if (strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].msg);
        assert_int_equal(l.n, 0);
        assert_null(l.users);
        assert_int_equal(jfa_ref_user_list(cases[i].doc, len, &r), -1);
    }
    /* a raw NUL byte, even after a complete array */
    assert_int_equal(jfa_json_user_list(LIT("[]\0"), &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL byte in body"));
    assert_int_equal(jfa_json_user_list(NULL, 0, &l, err, sizeof(err)), -1);
}

/* Shapes at the edges: whitespace kinds, nesting limit, sizes. */
static void test_user_list_stream_edges(void **state)
{
    static const char *const docs[] = {
        "[]",
        " \t\r\n[ \t\r\n] \t\r\n",
        "[]\v\f",
        "\v[]",
        "\f[]",
        "[\v]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}\v]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}\f,{\"Name\":\"y\",\"Id\":\"" UID2 "\"}]",
        "[ {\"Name\":\"x\",\"Id\":\"" UID1 "\"} , {\"Name\":\"y\",\"Id\":\"" UID2 "\"} ]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"Name\":\"y\",\"name\":\"z\"}]",
        "[{\"name\":\"x\",\"NAME\":\"y\",\"Id\":\"" UID1 "\"}]",
        "[{\"Name\":null,\"name\":\"y\",\"Id\":\"" UID1 "\"}]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"Policy\":null,\"policy\":{\"IsHidden\":true}}]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"policy\":{\"IsHidden\":true},\"Policy\":null}]",
        "[\xef\xbb\xbf]",
        "[{'Name':\"x\",\"Id\":\"" UID1 "\"}]", /* json-c takes single quotes */
        "[{\"Name\":'x',\"Id\":\"" UID1 "\"}, {\"Name\":\"y\",\"Id\":'" UID2 "'}]",
        "\xef\xbb\xbf[]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\"}]\r\n",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"N\":1e400}]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"N\":-}]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"N\":NaN}]",
        "[{\"Name\":\"x\",\"Id\":\"" UID1 "\",\"N\":99999999999999999999999}]",
    };
    struct jfa_user_list l, r;
    char deep[512];
    int last = -2, flips = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        size_t len = strlen(docs[i]);
        int rc = jfa_json_user_list(docs[i], len, &l, err, sizeof(err));
        int rrc = jfa_ref_user_list(docs[i], len, &r);

        if (!jfa_ref_lists_agree(rc, &l, rrc, &r))
            fail_msg("doc %zu: list %d, reference %d (%s)", i, rc, rrc, rc ? err : "");
        jfa_user_list_free(&l);
        jfa_user_list_free(&r);
    }
    /* nesting: the limit counts the array level, as the whole-document parse did */
    for (int d = 20; d <= 40; d++) {
        size_t n =
            (size_t)snprintf(deep, sizeof(deep), "[{\"Name\":\"a\",\"Id\":\"%s\",\"x\":", UID1);
        int rc, rrc;

        for (int i = 0; i < d; i++)
            deep[n++] = '[';
        for (int i = 0; i < d; i++)
            deep[n++] = ']';
        deep[n++] = '}';
        deep[n++] = ']';
        deep[n] = '\0';
        rc = jfa_json_user_list(deep, n, &l, err, sizeof(err));
        rrc = jfa_ref_user_list(deep, n, &r);
        if (!jfa_ref_lists_agree(rc, &l, rrc, &r))
            fail_msg("depth %d: list %d, reference %d", d, rc, rrc);
        if (rc != last)
            flips++;
        last = rc;
        jfa_user_list_free(&l);
        jfa_user_list_free(&r);
    }
    assert_int_equal(flips, 2); /* accepted up to the limit, refused beyond */
    assert_int_equal(last, -1);
}

/* Mutations of a small valid list: the decoder and the reference agree. */
static void test_user_list_stream_mutations(void **state)
{
    struct jfa_user_list l, r;
    size_t len;
    char *doc = gen_users(12, 7, NULL, &len);
    char *m = malloc(len);
    uint32_t s = 99;
    static const char repl[] = "[]{},:\"\\ \n\v0-1.eEtrufalsn\xc3\xff\x80u";

    (void)state;
    assert_non_null(m);
    for (int k = 0; k < 600; k++) {
        size_t mlen = len;
        int rc, rrc;

        memcpy(m, doc, len);
        switch (k % 3) {
        case 0: /* cut short */
            mlen = (size_t)gen_rand(&s) * 31u % len;
            break;
        case 1: /* one byte replaced */
            m[(size_t)gen_rand(&s) * 31u % len] = repl[gen_rand(&s) % (sizeof(repl) - 1)];
            break;
        default: { /* one byte removed */
            size_t at = (size_t)gen_rand(&s) * 31u % len;

            memmove(m + at, m + at + 1, len - at - 1);
            mlen = len - 1;
            break;
        }
        }
        rc = jfa_json_user_list(m, mlen, &l, err, sizeof(err));
        rrc = jfa_ref_user_list(m, mlen, &r);
        if (!jfa_ref_lists_agree(rc, &l, rrc, &r))
            fail_msg("mutation %d: list %d, reference %d", k, rc, rrc);
        if (rc != 0 && strncmp(err, "Users", 5) != 0)
            fail_msg("mutation %d: message \"%s\"", k, err);
        jfa_user_list_free(&l);
        jfa_user_list_free(&r);
    }
    free(m);
    free(doc);
}

static void test_quick_connect(void **state)
{
    struct jfa_quick_connect q;
    const char *secret = "8b1d4e6fa3c57d9e0b1a2c3d4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3d4f2a9c0e";
    char doc[512], *body;
    bool b = true;

    (void)state;
    snprintf(doc, sizeof(doc),
             "{\"Authenticated\":false,\"Secret\":\"%s\",\"Code\":\"012345\","
             "\"DeviceId\":\"d\",\"DeviceName\":\"h\",\"AppName\":\"pam_jellyfin\","
             "\"AppVersion\":\"1\",\"DateAdded\":\"2026-01-01T00:00:00.0000000Z\"}",
             secret);
    assert_int_equal(jfa_json_quick_connect(doc, strlen(doc), &q, err, sizeof(err)), 0);
    assert_false(q.authenticated);
    assert_string_equal(q.secret, secret);
    assert_string_equal(q.code, "012345");
    jfa_quick_connect_wipe(&q);
    assert_int_equal(jfa_json_quick_connect(LIT("{\"authenticated\":true,\"secret\":\""
                                                "0123456789abcdef0123456789ABCDEF\","
                                                "\"code\":\"1234\"}"),
                                            &q, err, sizeof(err)),
                     0);
    assert_true(q.authenticated);
    /* a code that is not digits never comes out (it is shown in a prompt) */
    assert_int_equal(jfa_json_quick_connect(LIT("{\"Secret\":\"0123456789abcdef0123456789abcdef\","
                                                "\"Code\":\"12\\n34\"}"),
                                            &q, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "Code: expected 4 to 12 decimal digits");
    assert_string_equal(q.code, "");
    assert_int_equal(jfa_json_quick_connect(LIT("{\"Secret\":\"0123456789abcdef0123456789abcdef\","
                                                "\"Code\":\"123\"}"),
                                            &q, err, sizeof(err)),
                     -1);
    /* a secret that is not hex never goes into a URL */
    assert_int_equal(jfa_json_quick_connect(LIT("{\"Secret\":\"0123456789abcdef0123456789abcde&\","
                                                "\"Code\":\"123456\"}"),
                                            &q, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "Secret: expected 32 to 128 hex digits");
    assert_int_equal(jfa_json_quick_connect(LIT("{\"Secret\":\"abcd\",\"Code\":\"123456\"}"), &q,
                                            err, sizeof(err)),
                     -1);
    assert_int_equal(jfa_json_quick_connect(LIT("{\"Code\":\"123456\"}"), &q, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "Secret: missing");
    assert_int_equal(
        jfa_json_quick_connect(LIT("{\"Secret\":5,\"Code\":\"123456\"}"), &q, err, sizeof(err)),
        -1);
    assert_string_equal(err, "Secret: expected a string");
    assert_int_equal(jfa_json_quick_connect(LIT("{\"Authenticated\":\"yes\",\"Secret\":\"0123456789"
                                                "abcdef0123456789abcdef\",\"Code\":\"123456\"}"),
                                            &q, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "Authenticated: expected a boolean");
    assert_int_equal(jfa_json_quick_connect(LIT("[]"), &q, err, sizeof(err)), -1);

    assert_int_equal(jfa_json_bool(LIT("true"), &b, err, sizeof(err)), 0);
    assert_true(b);
    assert_int_equal(jfa_json_bool(LIT(" false\n"), &b, err, sizeof(err)), 0);
    assert_false(b);
    assert_int_equal(jfa_json_bool(LIT("\"true\""), &b, err, sizeof(err)), -1);
    assert_false(b);
    assert_string_equal(err, "boolean: expected a JSON boolean");
    assert_int_equal(jfa_json_bool(LIT("1"), &b, err, sizeof(err)), -1);
    assert_int_equal(jfa_json_bool(LIT("true true"), &b, err, sizeof(err)), -1);
    assert_int_equal(jfa_json_bool(LIT("tru"), &b, err, sizeof(err)), -1);

    body = jfa_json_quick_connect_body(secret);
    assert_non_null(body);
    snprintf(doc, sizeof(doc), "{\"Secret\":\"%s\"}", secret);
    assert_string_equal(body, doc);
    free(body);
    assert_null(jfa_json_quick_connect_body("0123456789abcdef0123456789abcde\""));
    assert_null(jfa_json_quick_connect_body("0123"));
    assert_null(jfa_json_quick_connect_body(NULL));
}

static void test_system_info(void **state)
{
    struct jfa_system_info s;
    const char *doc = "{\"LocalAddress\":\"http://172.17.0.2:8096\",\"ServerName\":\"media\","
                      "\"Version\":\"10.11.11\",\"ProductName\":\"Jellyfin Server\","
                      "\"OperatingSystem\":\"\",\"Id\":\"" SRV "\","
                      "\"StartupWizardCompleted\":true}";

    (void)state;
    assert_int_equal(jfa_json_system_info(doc, strlen(doc), &s, err, sizeof(err)), 0);
    assert_string_equal(s.server_name, "media");
    assert_string_equal(s.version, "10.11.11");
    assert_string_equal(s.product_name, "Jellyfin Server");
    assert_string_equal(s.id, SRV);
    assert_true(s.startup_wizard_completed);
    jfa_system_info_free(&s);

    assert_int_equal(jfa_json_system_info(LIT("{\"version\":\"12.0.0\"}"), &s, err, sizeof(err)),
                     0);
    assert_string_equal(s.version, "12.0.0");
    assert_null(s.server_name);
    assert_string_equal(s.id, "");
    assert_false(s.startup_wizard_completed);
    jfa_system_info_free(&s);

    assert_int_equal(jfa_json_system_info(LIT("{\"Version\":10}"), &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Version: expected a string"));
    assert_int_equal(jfa_json_system_info(LIT("{\"Id\":\"1234\"}"), &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Id: not a GUID"));
    jfa_system_info_free(&s);
}

static void test_api_keys(void **state)
{
    struct jfa_api_key_list l;
    const char *doc = "{\"Items\":[{\"Id\":0,\"AccessToken\":\"" TOKEN "\",\"DeviceId\":\"\","
                      "\"AppName\":\"jellyfin-auth\",\"AppVersion\":\"\",\"DeviceName\":\"\","
                      "\"UserId\":\"00000000000000000000000000000000\",\"IsActive\":false,"
                      "\"DateCreated\":\"2026-11-29T20:00:00.0000000Z\","
                      "\"DateLastActivity\":\"0001-01-01T00:00:00.0000000Z\"},"
                      "{\"AccessToken\":\"" UID2 "\",\"AppName\":\"other\"}],"
                      "\"TotalRecordCount\":2,\"StartIndex\":0}";

    (void)state;
    assert_int_equal(jfa_json_api_keys(doc, strlen(doc), &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.keys[0].access_token, TOKEN);
    assert_string_equal(l.keys[0].app_name, "jellyfin-auth");
    assert_string_equal(l.keys[0].date_created, "2026-11-29T20:00:00.0000000Z");
    assert_string_equal(l.keys[1].access_token, UID2);
    assert_null(l.keys[1].date_created);
    jfa_api_key_list_free(&l);
    assert_int_equal(l.n, 0);

    assert_int_equal(
        jfa_json_api_keys(LIT("{\"items\":[],\"TotalRecordCount\":0}"), &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    jfa_api_key_list_free(&l);

    assert_int_equal(jfa_json_api_keys(LIT("{}"), &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Items: missing"));
    assert_int_equal(jfa_json_api_keys(LIT("{\"Items\":{}}"), &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Items: expected an array"));
    assert_int_equal(
        jfa_json_api_keys(LIT("{\"Items\":[{\"AppName\":\"x\"}]}"), &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Items[0].AccessToken: missing"));
    assert_int_equal(
        jfa_json_api_keys(LIT("{\"Items\":[{\"AccessToken\":[]}]}"), &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Items[0].AccessToken: expected a string"));
    assert_int_equal(jfa_json_api_keys(LIT("[]"), &l, err, sizeof(err)), -1);
    jfa_api_key_list_free(&l);
}

static void test_guid_normalize(void **state)
{
    char out[33];

    (void)state;
    assert_int_equal(jfa_guid_normalize(UID1, out), 0);
    assert_string_equal(out, UID1);
    assert_int_equal(jfa_guid_normalize("4F2A9C0E8B1D4E6FA3C57D9E0B1A2C3D", out), 0);
    assert_string_equal(out, UID1);
    assert_int_equal(jfa_guid_normalize("4f2a9c0e-8b1d-4e6f-a3c5-7d9e0b1a2c3d", out), 0);
    assert_string_equal(out, UID1);
    assert_int_equal(jfa_guid_normalize("{4F2A9C0E-8B1D-4E6F-A3C5-7D9E0B1A2C3D}", out), 0);
    assert_string_equal(out, UID1);
    assert_int_equal(jfa_guid_normalize("(4f2a9c0e-8b1d-4e6f-a3c5-7d9e0b1a2c3d)", out), 0);
    assert_string_equal(out, UID1);

    memcpy(out, "unchanged", 10);
    assert_int_equal(jfa_guid_normalize("", out), -1);
    assert_int_equal(jfa_guid_normalize(NULL, out), -1);
    assert_int_equal(jfa_guid_normalize("4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3", out), -1);
    assert_int_equal(jfa_guid_normalize("4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3d0", out), -1);
    assert_int_equal(jfa_guid_normalize("4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3g", out), -1);
    assert_int_equal(jfa_guid_normalize("4f2a9c0e-8b1d-4e6f-a3c5_7d9e0b1a2c3d", out), -1);
    assert_int_equal(jfa_guid_normalize("4f2a9c0e8-b1d-4e6f-a3c5-7d9e0b1a2c3d", out), -1);
    assert_int_equal(jfa_guid_normalize("{4f2a9c0e-8b1d-4e6f-a3c5-7d9e0b1a2c3d)", out), -1);
    assert_int_equal(jfa_guid_normalize("{4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3d}", out), -1);
    assert_int_equal(jfa_guid_normalize(" 4f2a9c0e-8b1d-4e6f-a3c5-7d9e0b1a2c3d ", out), -1);
    assert_string_equal(out, "unchanged");
}

static void check_body(const char *body, const char *k1, const char *v1, const char *k2,
                       const char *v2)
{
    struct json_object *o, *v;

    assert_non_null(body);
    o = json_tokener_parse(body);
    assert_non_null(o);
    assert_int_equal(json_object_object_length(o), 2);
    assert_true(json_object_object_get_ex(o, k1, &v));
    assert_string_equal(json_object_get_string(v), v1);
    assert_true(json_object_object_get_ex(o, k2, &v));
    assert_string_equal(json_object_get_string(v), v2);
    json_object_put(o);
}

static void test_bodies(void **state)
{
    static const char *const pws[] = {
        "",
        "simple",
        "with \"quotes\" and \\backslash\\",
        "ctl\n\t\x01",
        "J\xc3\xb6hn/</script>",
        "{\"Pw\":\"injected\"}",
    };
    char *b;

    (void)state;
    b = jfa_json_authenticate_body("alice", "pw");
    assert_string_equal(b, "{\"Username\":\"alice\",\"Pw\":\"pw\"}");
    free(b);
    for (size_t i = 0; i < sizeof(pws) / sizeof(pws[0]); i++) {
        b = jfa_json_authenticate_body(pws[i], pws[i]);
        check_body(b, "Username", pws[i], "Pw", pws[i]);
        free(b);
        b = jfa_json_password_body(pws[i], "new");
        check_body(b, "CurrentPw", pws[i], "NewPw", "new");
        free(b);
    }
    b = jfa_json_password_body("old", "new");
    assert_string_equal(b, "{\"CurrentPw\":\"old\",\"NewPw\":\"new\"}");
    free(b);
    assert_null(jfa_json_authenticate_body(NULL, "x"));
    assert_null(jfa_json_authenticate_body("x", NULL));
    assert_null(jfa_json_password_body(NULL, "x"));
}

static void test_free_zeroed(void **state)
{
    struct jfa_user u = {0};
    struct jfa_auth_result r = {0};
    struct jfa_user_list l = {0};
    struct jfa_system_info s = {0};
    struct jfa_api_key_list k = {0};

    (void)state;
    jfa_user_free(&u);
    jfa_auth_result_free(&r);
    jfa_user_list_free(&l);
    jfa_system_info_free(&s);
    jfa_api_key_list_free(&k);
    jfa_user_free(NULL);
    jfa_auth_result_free(NULL);
    jfa_user_list_free(NULL);
    jfa_system_info_free(NULL);
    jfa_api_key_list_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_result_12),
        cmocka_unit_test(test_auth_result_camel_minimal),
        cmocka_unit_test(test_disabled_admin_policy),
        cmocka_unit_test(test_auth_result_wrong_types),
        cmocka_unit_test(test_malformed_documents),
        cmocka_unit_test(test_user_list),
        cmocka_unit_test(test_user_list_matches_reference),
        cmocka_unit_test(test_user_list_stream_errors),
        cmocka_unit_test(test_user_list_stream_edges),
        cmocka_unit_test(test_user_list_stream_mutations),
        cmocka_unit_test(test_system_info),
        cmocka_unit_test(test_api_keys),
        cmocka_unit_test(test_guid_normalize),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_quick_connect),
        cmocka_unit_test(test_free_zeroed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
