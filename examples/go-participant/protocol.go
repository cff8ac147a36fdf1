package main

// The wire contract of docs/participants.md, decoded strictly: a command that does not match it
// exactly is parked on the dead-letter topic with the reason, never guessed at.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	protocolVersion = 1
	messageBytesMax = 1 << 20
	repliesTopic    = "verdict.coordinator.replies"
	deadLetterTopic = "verdict.dead-letter"
	topicPrefix     = "verdict.participant."
	reasonLengthMax = 1000
	headerType      = "verdict-type"
	headerTrace     = "traceparent"
	// Bounds of a dead letter (docs/asyncapi.json, DeadLetter): the value is kept up to 16 KiB.
	deadLetterValueBytesMax  = 16 * 1024
	deadLetterReasonCharsMax = 2000
	deadLetterKeyBytesMax    = 1024
)

var (
	participantNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	// RFC 9562 textual form (versions 1–8, variant 10xx) plus the nil and max UUIDs.
	uuidPattern = regexp.MustCompile(
		`^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}` +
			`|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$`)
	// ISO 8601 in UTC with a Z, as the coordinator writes it; the offset form is not part of the contract.
	utcInstantPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$`)
)

// CommandType is what the coordinator asks of a participant.
type CommandType string

const (
	Prepare CommandType = "PREPARE"
	Commit  CommandType = "COMMIT"
	Abort   CommandType = "ABORT"
)

// Outcome is the coordinator's decision for a transaction.
type Outcome string

const (
	OutcomeCommit Outcome = "COMMIT"
	OutcomeAbort  Outcome = "ABORT"
)

// Command is one decoded PREPARE, COMMIT or ABORT.
type Command struct {
	Type        CommandType
	TxID        string
	Participant string
	Term        int64
	Attempt     int64
	SentAt      time.Time
	// PREPARE and one-phase COMMIT: the work given at begin/enlist, verbatim (nil when absent).
	Work json.RawMessage
	// PREPARE only.
	Deadline     time.Time
	Participants []string
	// COMMIT only: this participant is the transaction's only one; prepare and commit in one step.
	OnePhase bool
	// ABORT only, for the log.
	Reason string
}

// The envelope with every field a pointer, so that a missing field is told apart from a zero.
// Numbers are read as written and checked by integerField: JSON has one number type, so `3.0` is
// the integer 3 to every other JSON reader and must be to this one too.
type wireEnvelope struct {
	V           json.RawMessage `json:"v"`
	Type        *string         `json:"type"`
	TxID        *string         `json:"txId"`
	Participant *string         `json:"participant"`
	Term        json.RawMessage `json:"term"`
	Attempt     json.RawMessage `json:"attempt"`
	SentAt      *string         `json:"sentAt"`
	Payload     json.RawMessage `json:"payload"`
}

type wirePrepare struct {
	Work         json.RawMessage `json:"work"`
	Deadline     *string         `json:"deadline"`
	Participants *[]string       `json:"participants"`
}

type wireCommit struct {
	OnePhase *bool           `json:"onePhase"`
	Work     json.RawMessage `json:"work"`
}

type wireAbort struct {
	Reason *string `json:"reason"`
}

// DecodeCommand reads one message from a participant's command topic, addressed to `self`.
// The error says why the message cannot be used; it becomes the dead letter's reason.
func DecodeCommand(value []byte, self string) (Command, error) {
	if len(value) > messageBytesMax {
		return Command{}, fmt.Errorf("message is %d bytes, above the %d-byte limit", len(value), messageBytesMax)
	}
	var envelope wireEnvelope
	if err := decodeStrict(value, &envelope); err != nil {
		return Command{}, fmt.Errorf("envelope: %w", err)
	}
	if absent(envelope.V) {
		return Command{}, errors.New("envelope: v is missing")
	}
	if version, err := integerField(envelope.V); err != nil || version != protocolVersion {
		return Command{}, fmt.Errorf("envelope: protocol version %s is not known here (this participant speaks %d)", envelope.V, protocolVersion)
	}
	switch {
	case envelope.Type == nil:
		return Command{}, errors.New("envelope: type is missing")
	case envelope.TxID == nil:
		return Command{}, errors.New("envelope: txId is missing")
	case envelope.Participant == nil:
		return Command{}, errors.New("envelope: participant is missing")
	case absent(envelope.Term):
		return Command{}, errors.New("envelope: term is missing")
	case absent(envelope.Attempt):
		return Command{}, errors.New("envelope: attempt is missing")
	case envelope.SentAt == nil:
		return Command{}, errors.New("envelope: sentAt is missing")
	case absent(envelope.Payload):
		return Command{}, errors.New("envelope: payload is missing")
	}
	if !uuidPattern.MatchString(*envelope.TxID) {
		return Command{}, fmt.Errorf("envelope: txId %q is not a UUID", *envelope.TxID)
	}
	if !participantNamePattern.MatchString(*envelope.Participant) {
		return Command{}, fmt.Errorf("envelope: participant %q is not a participant name", *envelope.Participant)
	}
	if *envelope.Participant != self {
		return Command{}, fmt.Errorf("envelope: addressed to %q, not to this participant %q", *envelope.Participant, self)
	}
	term, err := integerField(envelope.Term)
	if err != nil {
		return Command{}, fmt.Errorf("envelope: term: %w", err)
	}
	if term < 0 {
		return Command{}, fmt.Errorf("envelope: term %d is negative", term)
	}
	attempt, err := integerField(envelope.Attempt)
	if err != nil {
		return Command{}, fmt.Errorf("envelope: attempt: %w", err)
	}
	if attempt < 1 {
		return Command{}, fmt.Errorf("envelope: attempt %d is below 1", attempt)
	}
	sentAt, err := parseInstant(*envelope.SentAt)
	if err != nil {
		return Command{}, fmt.Errorf("envelope: sentAt: %w", err)
	}
	command := Command{
		Type:        CommandType(*envelope.Type),
		TxID:        *envelope.TxID,
		Participant: *envelope.Participant,
		Term:        term,
		Attempt:     attempt,
		SentAt:      sentAt,
	}
	switch command.Type {
	case Prepare:
		var payload wirePrepare
		if err := decodeStrict(envelope.Payload, &payload); err != nil {
			return Command{}, fmt.Errorf("PREPARE payload: %w", err)
		}
		if payload.Deadline == nil {
			return Command{}, errors.New("PREPARE payload: deadline is missing")
		}
		if command.Deadline, err = parseInstant(*payload.Deadline); err != nil {
			return Command{}, fmt.Errorf("PREPARE payload: deadline: %w", err)
		}
		if payload.Participants == nil || len(*payload.Participants) == 0 {
			return Command{}, errors.New("PREPARE payload: participants must list at least one participant")
		}
		for _, name := range *payload.Participants {
			if !participantNamePattern.MatchString(name) {
				return Command{}, fmt.Errorf("PREPARE payload: participants: %q is not a participant name", name)
			}
		}
		command.Participants = *payload.Participants
		command.Work = presentWork(payload.Work)
	case Commit:
		var payload wireCommit
		if err := decodeStrict(envelope.Payload, &payload); err != nil {
			return Command{}, fmt.Errorf("COMMIT payload: %w", err)
		}
		command.OnePhase = payload.OnePhase != nil && *payload.OnePhase
		command.Work = presentWork(payload.Work)
	case Abort:
		var payload wireAbort
		if err := decodeStrict(envelope.Payload, &payload); err != nil {
			return Command{}, fmt.Errorf("ABORT payload: %w", err)
		}
		if payload.Reason != nil {
			if len([]rune(*payload.Reason)) > reasonLengthMax {
				return Command{}, fmt.Errorf("ABORT payload: reason is longer than %d characters", reasonLengthMax)
			}
			command.Reason = *payload.Reason
		}
	default:
		return Command{}, fmt.Errorf("envelope: type %q is not a command (PREPARE, COMMIT or ABORT)", command.Type)
	}
	return command, nil
}

// integerField reads a JSON number that must be a whole number no larger than JavaScript's safe
// integers (2^53 - 1), the range the coordinator writes and the schemas allow.
func integerField(raw json.RawMessage) (int64, error) {
	const safeMax = 1<<53 - 1
	var number json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &number) != nil {
		return 0, fmt.Errorf("%s is not a number", raw)
	}
	if value, err := number.Int64(); err == nil {
		if value > safeMax || value < -safeMax {
			return 0, fmt.Errorf("%s is beyond 2^53-1", number)
		}
		return value, nil
	}
	value, err := number.Float64()
	if err != nil || value != math.Trunc(value) || math.Abs(value) > safeMax {
		return 0, fmt.Errorf("%s is not an integer", number)
	}
	return int64(value), nil
}

// decodeStrict is JSON decoding that refuses unknown fields and anything after the value, as the
// contract does ("Unknown fields anywhere are rejected").
func decodeStrict(data []byte, into any) error {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(into); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty body")
		}
		return err
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// absent: a field left out, or given as null.
func absent(raw json.RawMessage) bool {
	return raw == nil || string(raw) == "null"
}

func presentWork(work json.RawMessage) json.RawMessage {
	if work == nil || string(work) == "null" {
		return nil
	}
	return work
}

func parseInstant(text string) (time.Time, error) {
	if !utcInstantPattern.MatchString(text) {
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 UTC instant (YYYY-MM-DDTHH:MM:SS[.fff]Z)", text)
	}
	instant, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid instant: %w", text, err)
	}
	return instant, nil
}

// Reply is a VOTE, ACK or OUTCOME_QUERY, ready to be written to the replies topic.
type Reply struct {
	V           int    `json:"v"`
	Type        string `json:"type"`
	TxID        string `json:"txId"`
	Participant string `json:"participant"`
	Term        int64  `json:"term"`
	Attempt     int64  `json:"attempt"`
	SentAt      string `json:"sentAt"`
	Payload     any    `json:"payload"`
}

type votePayload struct {
	Vote   Vote   `json:"vote"`
	Reason string `json:"reason,omitempty"`
}

type ackPayload struct {
	Outcome Outcome `json:"outcome"`
}

// formatInstant writes the millisecond UTC form the contract's examples use.
func formatInstant(instant time.Time) string {
	return instant.UTC().Format("2006-01-02T15:04:05.000Z")
}

// VoteReply answers a PREPARE (or a one-phase COMMIT that cannot be done) with the same term and attempt.
func VoteReply(command Command, vote Vote, reason string, now time.Time) Reply {
	return Reply{
		V: protocolVersion, Type: "VOTE", TxID: command.TxID, Participant: command.Participant,
		Term: command.Term, Attempt: command.Attempt, SentAt: formatInstant(now),
		Payload: votePayload{Vote: vote, Reason: truncateReason(reason)},
	}
}

// AckReply acknowledges the outcome this participant applied.
func AckReply(command Command, outcome Outcome, now time.Time) Reply {
	return Reply{
		V: protocolVersion, Type: "ACK", TxID: command.TxID, Participant: command.Participant,
		Term: command.Term, Attempt: command.Attempt, SentAt: formatInstant(now),
		Payload: ackPayload{Outcome: outcome},
	}
}

// OutcomeQueryReply asks the coordinator leader to send the decision of a transaction held
// prepared. It answers no command, so its term is 0.
func OutcomeQueryReply(txID, participant string, attempt int64, now time.Time) Reply {
	return Reply{
		V: protocolVersion, Type: "OUTCOME_QUERY", TxID: txID, Participant: participant,
		Term: 0, Attempt: attempt, SentAt: formatInstant(now), Payload: struct{}{},
	}
}

func truncateReason(reason string) string {
	return truncateRunes(reason, reasonLengthMax)
}

func truncateRunes(text string, max int) string {
	runes := []rune(text)
	if len(runes) <= max {
		return text
	}
	return string(runes[:max])
}

// DeadLetter is what is written to verdict.dead-letter for a message that cannot be used: the
// original bytes in base64 (encoding/json encodes []byte so), the first 16 KiB of a larger value
// with valueTruncated, and the whole length in valueBytes.
type DeadLetter struct {
	Reason          string  `json:"reason"`
	SourceTopic     string  `json:"sourceTopic"`
	SourcePartition int32   `json:"sourcePartition"`
	SourceOffset    string  `json:"sourceOffset"`
	ParkedBy        string  `json:"parkedBy"`
	ParkedAt        string  `json:"parkedAt"`
	Key             *string `json:"key"`
	ValueBase64     []byte  `json:"valueBase64"`
	ValueBytes      *int    `json:"valueBytes,omitempty"`
	ValueTruncated  bool    `json:"valueTruncated,omitempty"`
}

// NewDeadLetter bounds what is kept of a parked message as docs/asyncapi.json says.
func NewDeadLetter(topic string, partition int32, offset int64, key, value []byte, reason, parkedBy string, now time.Time) DeadLetter {
	letter := DeadLetter{
		Reason: truncateRunes(reason, deadLetterReasonCharsMax), SourceTopic: topic, SourcePartition: partition,
		SourceOffset: strconv.FormatInt(offset, 10), ParkedBy: parkedBy, ParkedAt: formatInstant(now),
	}
	if key != nil {
		bounded := strings.ToValidUTF8(string(key[:min(len(key), deadLetterKeyBytesMax)]), "\uFFFD")
		letter.Key = &bounded
	}
	if value != nil {
		length := len(value)
		letter.ValueBytes = &length
		letter.ValueBase64 = value[:min(length, deadLetterValueBytesMax)]
		letter.ValueTruncated = length > deadLetterValueBytesMax
	}
	return letter
}
