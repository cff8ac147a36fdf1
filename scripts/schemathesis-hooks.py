# Schemathesis hooks for the coordinator's REST fuzzing (scripts/schemathesis.mts loads this file).
#
# Each hook changes positive test cases only, i.e. requests that are meant to be valid; negative
# ones still send whatever was generated, and the API must refuse them. Schemathesis validates a
# case again after a hook changed it, so a case the hook made invalid is judged as negative.
import os
import re

import schemathesis

# METADATA_KEY_PATTERN of apps/coordinator/src/api/dto/string-map.validator.ts, passed in by the runner.
METADATA_KEY = re.compile(os.environ["VERDICT_METADATA_KEY_PATTERN"])
# Prepare deadline of the transactions a valid begin asks for; see short_deadline below.
BEGIN_TIMEOUT_MS_MAX = int(os.environ["VERDICT_BEGIN_TIMEOUT_MS_MAX"])


@schemathesis.hook
def map_case(context, case):
    if case.meta is None or case.meta.generation.mode.name != "POSITIVE":
        return case
    operation = f"{case.method.upper()} {case.path}"
    if isinstance(case.body, (dict, list)):
        case.body = without_prototype_keys(case.body)
    if operation == "POST /v1/transactions":
        # A begin without a body (valid: every field has a default) gets one, for its deadline.
        if not isinstance(case.body, dict):
            case.body = {}
        begin_rules(case.body)
        short_deadline(case.body)
        if case.meta.phase.name == "stateful":
            # The stateful phase follows begin's links to enlist and commit: a transaction decided
            # at begin would leave it nothing to enlist in. The other phases send commit.
            case.body.pop("commit", None)
        elif case.body.get("commit") == "completion":
            # Begin with commit answers like a commit: see the wait=completion case below.
            case.body["commit"] = "decision"
    elif operation == "POST /v1/transactions/{txId}/commit" and case.query:
        # wait=completion waits for every participant's acknowledgement, and the participants a
        # fuzzer enlists do not exist: the request would hang until the client gives up.
        case.query.pop("wait", None)
    elif operation == "GET /v1/transactions" and case.query:
        # A cursor is valid only as the API issued it (nextCursor of an earlier page); a generated
        # one is refused with 400 as documented, so a request meant to be valid sends none.
        case.query.pop("cursor", None)
    return case


def begin_rules(body):
    """Rules of a begin body that OpenAPI 3.0, the version the coordinator serves, cannot state,
    so the document gives them in descriptions: metadata keys match a pattern (JSON Schema's
    propertyNames is 3.1 only), participants have distinct names (uniqueItems compares whole
    items, payload included), and commit needs participants (no if/then in 3.0)."""
    if isinstance(body.get("metadata"), dict):
        body["metadata"] = {
            (key if METADATA_KEY.fullmatch(key) else f"key{index}"): value
            for index, (key, value) in enumerate(body["metadata"].items())
        }
    if body.get("commit") is not None and not body.get("participants"):
        # A third rule: commit at begin needs participants (the field's description says so).
        del body["commit"]
    if isinstance(body.get("participants"), list):
        names = set()
        distinct = []
        for participant in body["participants"]:
            name = participant.get("name") if isinstance(participant, dict) else None
            if name not in names:
                names.add(name)
                distinct.append(participant)
        body["participants"] = distinct


def short_deadline(body):
    """The fuzzer's participants never vote, so a commit answers at the prepare deadline (30 s by
    default, up to 10 minutes): past the response-time check, and past the 30 s a follower waits
    for the leader (504) once an election moved leadership away from the fuzzed node. Any begin
    can be committed later: the stateful phase follows links, and schemathesis reuses ids it saw
    in any phase. So a valid begin asks for a deadline of at most 2 s; refusing a deadline outside
    100..600000 ms is still fuzzed, and accepting one inside is a unit test (http-app.spec.ts)."""
    timeout_ms = body.get("timeoutMs")
    if not isinstance(timeout_ms, int) or timeout_ms > BEGIN_TIMEOUT_MS_MAX:
        body["timeoutMs"] = BEGIN_TIMEOUT_MS_MAX


def without_prototype_keys(value):
    """The API refuses a body with a `__proto__` key, or a `constructor` key holding `prototype`,
    at any depth (400 MALFORMED_REQUEST, as the payload's description says): such keys could
    change an object's prototype. A free-form field (payload) cannot state that in OpenAPI 3.0."""
    if isinstance(value, list):
        return [without_prototype_keys(item) for item in value]
    if isinstance(value, dict):
        return {
            key: without_prototype_keys(item)
            for key, item in value.items()
            if key != "__proto__" and not (key == "constructor" and isinstance(item, dict) and "prototype" in item)
        }
    return value


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """503 NO_LEADER with Retry-After is the documented answer while the cluster elects a leader.
    On a busy machine an election can happen during a run (event-loop delays past the election
    timeout); that is the cluster's availability, not a fault of the API. The runner counts and
    reports every such answer (scripts/fuzz-rest/run.mts); every other 5xx stays a failure."""
    if failure.code != "ST101" or response is None or response.status_code != 503:
        return True
    if not response.headers.get("retry-after"):
        return True
    return b'"code":"NO_LEADER"' not in response.content
