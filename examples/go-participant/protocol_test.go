package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const (
	testTx   = "019ab8c2-6f10-7a3e-9d41-3c5e2f8b9a01"
	testSelf = "bank-a"
)

// The PREPARE example of docs/participants.md, verbatim.
const examplePrepare = `{
  "v": 1,
  "type": "PREPARE",
  "txId": "019ab8c2-6f10-7a3e-9d41-3c5e2f8b9a01",
  "participant": "bank-a",
  "term": 3,
  "attempt": 1,
  "sentAt": "2026-11-25T10:00:00.000Z",
  "payload": {
    "work": { "debit": { "account": "alice", "amount": 2500 } },
    "deadline": "2026-11-25T10:00:10.000Z",
    "participants": ["bank-a", "bank-b"]
  }
}`

func TestDecodesTheDocumentedCommands(t *testing.T) {
	prepare, err := DecodeCommand([]byte(examplePrepare), testSelf)
	if err != nil {
		t.Fatal(err)
	}
	if prepare.Type != Prepare || prepare.TxID != testTx || prepare.Term != 3 || prepare.Attempt != 1 {
		t.Fatalf("decoded %+v", prepare)
	}
	if !prepare.Deadline.Equal(time.Date(2026, 11, 25, 10, 0, 10, 0, time.UTC)) {
		t.Fatalf("deadline %v", prepare.Deadline)
	}
	if strings.Join(prepare.Participants, ",") != "bank-a,bank-b" || !strings.Contains(string(prepare.Work), "debit") {
		t.Fatalf("payload %+v", prepare)
	}

	commit, err := DecodeCommand([]byte(`{"v":1,"type":"COMMIT","txId":"`+testTx+`","participant":"bank-a","term":3,"attempt":2,"sentAt":"2026-11-25T10:00:00.050Z","payload":{}}`), testSelf)
	if err != nil || commit.Type != Commit || commit.OnePhase || commit.Attempt != 2 {
		t.Fatalf("commit %+v %v", commit, err)
	}
	onePhase, err := DecodeCommand([]byte(`{"v":1,"type":"COMMIT","txId":"`+testTx+`","participant":"bank-a","term":3,"attempt":1,"sentAt":"2026-11-25T10:00:00Z","payload":{"onePhase":true,"work":{"reserve":{"account":"a","amount":1}}}}`), testSelf)
	if err != nil || !onePhase.OnePhase || onePhase.Work == nil {
		t.Fatalf("one-phase commit %+v %v", onePhase, err)
	}
	abort, err := DecodeCommand([]byte(`{"v":1,"type":"ABORT","txId":"`+testTx+`","participant":"bank-a","term":3,"attempt":1,"sentAt":"2026-11-25T10:00:00.050Z","payload":{"reason":"bank-b voted NO"}}`), testSelf)
	if err != nil || abort.Type != Abort || abort.Reason != "bank-b voted NO" {
		t.Fatalf("abort %+v %v", abort, err)
	}
}

// JSON has one number type: 3.0 and 3e0 are the integer 3, as they are to the coordinator.
func TestIntegersMayBeWrittenAsWholeFloats(t *testing.T) {
	value := strings.Replace(strings.Replace(examplePrepare, `"term": 3`, `"term": 3.0`, 1), `"attempt": 1`, `"attempt": 1e0`, 1)
	command, err := DecodeCommand([]byte(value), testSelf)
	if err != nil || command.Term != 3 || command.Attempt != 1 {
		t.Fatalf("%+v %v", command, err)
	}
}

// A dead letter keeps at most 16 KiB of the value, 1024 bytes of the key and 2000 characters of reason.
func TestDeadLettersAreBounded(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 1, 0, time.UTC)
	small := NewDeadLetter("verdict.participant.bank-a", 0, 1742, []byte(testTx), []byte(`{"v":1`), "body is not JSON", "participant bank-a (go)", now)
	encoded, err := json.Marshal(small)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"reason":"body is not JSON","sourceTopic":"verdict.participant.bank-a","sourcePartition":0,"sourceOffset":"1742",` +
		`"parkedBy":"participant bank-a (go)","parkedAt":"2026-11-25T10:00:01.000Z","key":"` + testTx + `","valueBase64":"eyJ2Ijox","valueBytes":6}`
	if string(encoded) != want {
		t.Fatalf("\n got %s\nwant %s", encoded, want)
	}
	large := NewDeadLetter("t", 0, 1, []byte(strings.Repeat("k", 5000)), []byte(strings.Repeat("x", 100_000)), strings.Repeat("r", 3000), "p", now)
	if len(large.ValueBase64) != 16*1024 || !large.ValueTruncated || *large.ValueBytes != 100_000 ||
		len(*large.Key) != 1024 || len([]rune(large.Reason)) != 2000 {
		t.Fatalf("not bounded: value %d truncated %v bytes %d key %d reason %d", len(large.ValueBase64), large.ValueTruncated, *large.ValueBytes, len(*large.Key), len(large.Reason))
	}
	empty := NewDeadLetter("t", 0, 1, nil, nil, "no value", "p", now)
	if encoded, _ := json.Marshal(empty); !strings.Contains(string(encoded), `"key":null,"valueBase64":null}`) {
		t.Fatalf("a null key and value stay null: %s", encoded)
	}
}

// Every way a command can be malformed is refused with a reason that names the problem.
func TestRefusesMalformedCommands(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(examplePrepare, old, new, 1) }
	cases := map[string]struct{ value, reason string }{
		"not JSON":              {`{"v":1,"type"`, "envelope"},
		"empty":                 {``, "empty body"},
		"an array":              {`[1,2]`, "cannot unmarshal array"},
		"trailing data":         {examplePrepare + ` {}`, "data after the JSON value"},
		"unknown version":       {replace(`"v": 1`, `"v": 2`), "protocol version 2 is not known"},
		"no version":            {replace(`"v": 1,`, ``), "v is missing"},
		"version as string":     {replace(`"v": 1`, `"v": "1"`), "protocol version \"1\" is not known"},
		"unknown field":         {replace(`"v": 1,`, `"v": 1, "extra": true,`), `unknown field "extra"`},
		"unknown payload field": {replace(`"deadline"`, `"color": "red", "deadline"`), `unknown field "color"`},
		"a reply type":          {replace(`"PREPARE"`, `"VOTE"`), `"VOTE" is not a command`},
		"missing type":          {replace(`"type": "PREPARE",`, ``), "type is missing"},
		"bad txId":              {replace(testTx, "not-a-uuid"), "is not a UUID"},
		"other addressee":       {replace(`"participant": "bank-a"`, `"participant": "bank-c"`), `not to this participant`},
		"bad name":              {replace(`"participant": "bank-a"`, `"participant": "Bank A"`), "not a participant name"},
		"negative term":         {replace(`"term": 3`, `"term": -1`), "term -1 is negative"},
		"fractional term":       {replace(`"term": 3`, `"term": 3.5`), "term: 3.5 is not an integer"},
		"term as string":        {replace(`"term": 3`, `"term": "3"`), `term: "3" is not a number`},
		"term as object":        {replace(`"term": 3`, `"term": {"n": 3}`), `is not a number`},
		"huge term":             {replace(`"term": 3`, `"term": 9007199254740992`), "beyond 2^53-1"},
		"null term":             {replace(`"term": 3`, `"term": null`), "term is missing"},
		"attempt zero":          {replace(`"attempt": 1`, `"attempt": 0`), "attempt 0 is below 1"},
		"offset instant":        {replace(`"2026-11-25T10:00:00.000Z"`, `"2026-11-25T10:00:00+02:00"`), "not an ISO 8601 UTC instant"},
		"impossible instant":    {replace(`"2026-11-25T10:00:00.000Z"`, `"2026-13-45T10:00:00.000Z"`), "not a valid instant"},
		"no deadline":           {replace(`"deadline": "2026-11-25T10:00:10.000Z",`, ``), "deadline is missing"},
		"no participants":       {replace(`["bank-a", "bank-b"]`, `[]`), "at least one participant"},
		"null payload":          {`{"v":1,"type":"ABORT","txId":"` + testTx + `","participant":"bank-a","term":1,"attempt":1,"sentAt":"2026-11-25T10:00:00Z","payload":null}`, "payload is missing"},
		"long abort reason":     {`{"v":1,"type":"ABORT","txId":"` + testTx + `","participant":"bank-a","term":1,"attempt":1,"sentAt":"2026-11-25T10:00:00Z","payload":{"reason":"` + strings.Repeat("x", 1001) + `"}}`, "longer than 1000"},
		"oversized":             {`{"v":1,"pad":"` + strings.Repeat("x", messageBytesMax) + `"}`, "above the 1048576-byte limit"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeCommand([]byte(tc.value), testSelf)
			if err == nil {
				t.Fatal("decoded a malformed command")
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("reason %q does not say %q", err, tc.reason)
			}
		})
	}
}

// Replies have exactly the documented shape: the fields of the VOTE, ACK and OUTCOME_QUERY examples.
func TestRepliesMatchTheDocumentedShape(t *testing.T) {
	command, err := DecodeCommand([]byte(examplePrepare), testSelf)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 12_000_000, time.UTC)
	expect := func(reply Reply, want string) {
		t.Helper()
		got, err := json.Marshal(reply)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	}
	expect(VoteReply(command, VoteNo, "insufficient funds in account alice", now),
		`{"v":1,"type":"VOTE","txId":"`+testTx+`","participant":"bank-a","term":3,"attempt":1,"sentAt":"2026-11-25T10:00:00.012Z","payload":{"vote":"NO","reason":"insufficient funds in account alice"}}`)
	expect(VoteReply(command, VoteYes, "", now),
		`{"v":1,"type":"VOTE","txId":"`+testTx+`","participant":"bank-a","term":3,"attempt":1,"sentAt":"2026-11-25T10:00:00.012Z","payload":{"vote":"YES"}}`)
	expect(AckReply(command, OutcomeAbort, now),
		`{"v":1,"type":"ACK","txId":"`+testTx+`","participant":"bank-a","term":3,"attempt":1,"sentAt":"2026-11-25T10:00:00.012Z","payload":{"outcome":"ABORT"}}`)
	expect(OutcomeQueryReply(testTx, "bank-a", 4, now),
		`{"v":1,"type":"OUTCOME_QUERY","txId":"`+testTx+`","participant":"bank-a","term":0,"attempt":4,"sentAt":"2026-11-25T10:00:00.012Z","payload":{}}`)
	long := VoteReply(command, VoteNo, strings.Repeat("é", 1500), now)
	if reason := long.Payload.(votePayload).Reason; len([]rune(reason)) != reasonLengthMax {
		t.Fatalf("a NO reason is cut to %d characters, got %d", reasonLengthMax, len([]rune(reason)))
	}
}
