package main

// The Kafka side: one consumer-group member reading verdict.participant.<name>, answering each
// polled batch with one produce request after one fsync, then committing the batch's offsets.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Participant runs the consumer loop and the recovery loop around a Ledger.
type Participant struct {
	config  Config
	ledger  *Ledger
	client  *kgo.Client
	outcome *OutcomeClient
	log     *slog.Logger
	// OUTCOME_QUERY attempts and when the last one was sent, per transaction in doubt; only the
	// recovery loop touches it.
	queries map[string]*queryState
}

type queryState struct {
	attempts int64
	lastAt   time.Time
}

// NewParticipant makes sure the topics exist and joins the consumer group.
func NewParticipant(ctx context.Context, config Config, ledger *Ledger, log *slog.Logger) (*Participant, error) {
	topic := topicPrefix + config.Name
	if err := ensureTopics(ctx, config, []string{topic, repliesTopic, deadLetterTopic}, log); err != nil {
		return nil, err
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(config.Brokers...),
		kgo.ClientID("go-participant-"+config.Name),
		kgo.ConsumerGroup("verdict-participant-"+config.Name),
		kgo.ConsumeTopics(topic),
		// A new group reads from the start, so no command queued before the first start is skipped.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Offsets are committed by hand, after the batch's replies were written.
		kgo.DisableAutoCommit(),
		// No partition changes hands between a poll and the commit of its offsets.
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(config.SessionTimeout),
		kgo.HeartbeatInterval(config.SessionTimeout/6),
		// A PREPARE waiting in the broker holds an amount somewhere else.
		kgo.FetchMaxWait(50*time.Millisecond),
		kgo.FetchMaxPartitionBytes(2*messageBytesMax),
		// acks=-1 with the idempotent producer (franz-go's default), as the contract asks.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		// franz-go compresses batches with snappy by default, which kafkajs (the coordinator's
		// client) cannot read: its replies consumer stops on the first such batch. Plain batches
		// are readable by every client.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	var outcome *OutcomeClient
	if len(config.CoordinatorURLs) > 0 {
		outcome = NewOutcomeClient(config.CoordinatorURLs, config.APIKey)
	}
	return &Participant{
		config: config, ledger: ledger, client: client, outcome: outcome, log: log,
		queries: map[string]*queryState{},
	}, nil
}

func ensureTopics(ctx context.Context, config Config, topics []string, log *slog.Logger) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(config.Brokers...), kgo.ClientID("go-participant-admin-"+config.Name))
	if err != nil {
		return fmt.Errorf("kafka admin client: %w", err)
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		// -1, -1: the broker's own partition count and replication factor, which its operators chose.
		responses, err := admin.CreateTopics(ctx, -1, -1, nil, topics...)
		if err == nil {
			for _, response := range responses.Sorted() {
				switch {
				case response.Err == nil:
					log.Info("created topic", "topic", response.Topic)
				case errors.Is(response.Err, kerr.TopicAlreadyExists):
				default:
					err = fmt.Errorf("topic %s: %w %s", response.Topic, response.Err, response.ErrMessage)
				}
			}
			if err == nil {
				return nil
			}
		}
		log.Warn("creating topics failed; trying again", "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("creating topics %v: %w", topics, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Run consumes until ctx ends. An error is one the process cannot go on from (a failed fsync).
func (p *Participant) Run(ctx context.Context) error {
	go p.recoverLoop(ctx)
	for {
		fetches := p.client.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			p.log.Warn("fetch failed", "topic", topic, "partition", partition, "error", err)
		})
		if err := p.handleBatch(ctx, fetches.Records()); err != nil {
			return err
		}
		p.client.AllowRebalance()
	}
}

func (p *Participant) handleBatch(ctx context.Context, records []*kgo.Record) error {
	if len(records) == 0 {
		return nil
	}
	now := time.Now()
	var out []*kgo.Record
	for _, record := range records {
		command, err := DecodeCommand(record.Value, p.config.Name)
		if err != nil {
			out = append(out, p.park(record, err.Error(), now))
			continue
		}
		result := p.ledger.Handle(command, now)
		switch {
		case result.Ignored != "":
			p.log.Info("ignored a stale command", "txId", command.TxID, "type", command.Type, "reason", result.Ignored)
		case result.ParkReason != "":
			// A decision that contradicts what this participant did: an operator must look at it.
			p.log.Error("parked a command that contradicts this participant's state", "txId", command.TxID, "type", command.Type, "reason", result.ParkReason)
			out = append(out, p.park(record, result.ParkReason, now))
		default:
			out = append(out, replyRecord(*result.Reply, record.Headers))
			p.log.Debug("answered", "txId", command.TxID, "command", command.Type, "term", command.Term, "attempt", command.Attempt, "reply", result.Reply.Type)
		}
	}
	// Durable before anything that depends on it leaves the process.
	if err := p.ledger.Sync(); err != nil {
		return err
	}
	if err := p.produce(ctx, out); err != nil {
		return err
	}
	for {
		err := p.client.CommitUncommittedOffsets(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		// Not fatal: uncommitted commands are read again and answered again, the same way.
		p.log.Warn("committing offsets failed; trying again", "error", err)
		time.Sleep(time.Second)
	}
}

// produce writes the batch in one request and retries until every record is acknowledged, so
// that the offsets are never committed past an unsent reply.
func (p *Participant) produce(ctx context.Context, records []*kgo.Record) error {
	for len(records) > 0 {
		results := p.client.ProduceSync(ctx, records...)
		var failed []*kgo.Record
		for _, result := range results {
			if result.Err != nil {
				failed = append(failed, result.Record)
				p.log.Warn("produce failed; trying again", "topic", result.Record.Topic, "error", result.Err)
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if len(failed) > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		records = failed
	}
	return nil
}

func (p *Participant) park(record *kgo.Record, reason string, now time.Time) *kgo.Record {
	p.log.Warn("parked a message on the dead-letter topic", "topic", record.Topic, "partition", record.Partition, "offset", record.Offset, "reason", reason)
	letter := NewDeadLetter(record.Topic, record.Partition, record.Offset, record.Key, record.Value, reason,
		"participant "+p.config.Name+" (go)", now)
	var key []byte
	if letter.Key != nil {
		key = []byte(*letter.Key)
	}
	value, err := json.Marshal(letter)
	if err != nil {
		panic(fmt.Sprintf("dead letter does not encode: %v", err))
	}
	return &kgo.Record{Topic: deadLetterTopic, Key: key, Value: value}
}

func replyRecord(reply Reply, commandHeaders []kgo.RecordHeader) *kgo.Record {
	value, err := json.Marshal(reply)
	if err != nil {
		panic(fmt.Sprintf("reply does not encode: %v", err))
	}
	headers := []kgo.RecordHeader{{Key: headerType, Value: []byte(reply.Type)}}
	// A reply carries its command's traceparent, so the coordinator's trace goes on through it.
	for _, header := range commandHeaders {
		if header.Key == headerTrace {
			headers = append(headers, header)
		}
	}
	return &kgo.Record{Topic: repliesTopic, Key: []byte(reply.TxID), Value: value, Headers: headers}
}

// recoverLoop asks about every transaction held prepared: at once at start, then every
// RecoveryInterval. Each round sends an OUTCOME_QUERY (the leader answers with COMMIT or ABORT on
// this participant's topic, handled like any command); a transaction still in doubt
// OutcomeQueryWait after a query is asked about over REST as well.
func (p *Participant) recoverLoop(ctx context.Context) {
	ticker := time.NewTicker(p.config.RecoveryInterval)
	defer ticker.Stop()
	for {
		p.recoverRound(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (p *Participant) recoverRound(ctx context.Context) {
	now := time.Now()
	inDoubt := p.ledger.InDoubt(now, p.config.InDoubtAfter)
	still := map[string]bool{}
	var out []*kgo.Record
	for _, txID := range inDoubt {
		still[txID] = true
		query := p.queries[txID]
		if query == nil {
			query = &queryState{}
			p.queries[txID] = query
		}
		if query.attempts > 0 && now.Sub(query.lastAt) >= p.config.OutcomeQueryWait && p.outcome != nil {
			p.askOverREST(ctx, txID)
		}
		query.attempts++
		query.lastAt = now
		p.log.Info("asking for the outcome of a transaction held prepared", "txId", txID, "attempt", query.attempts)
		out = append(out, replyRecord(OutcomeQueryReply(txID, p.config.Name, query.attempts, now), nil))
	}
	for txID := range p.queries {
		if !still[txID] {
			delete(p.queries, txID)
		}
	}
	if err := p.produce(ctx, out); err != nil {
		p.log.Warn("sending outcome queries failed", "error", err)
	}
}

func (p *Participant) askOverREST(ctx context.Context, txID string) {
	outcome, err := p.outcome.Outcome(ctx, txID)
	if err != nil {
		p.log.Warn("asking the coordinator over REST failed; asking again next round", "txId", txID, "error", err)
		return
	}
	if outcome == "" {
		return // undecided: keep waiting
	}
	if p.ledger.Resolve(txID, outcome, time.Now()) {
		if err := p.ledger.Sync(); err != nil {
			// What the file holds is unknown now; a restart reads it again and asks again.
			p.log.Error("store sync failed; stopping", "error", err)
			os.Exit(1)
		}
		p.log.Info("applied the outcome learned over REST", "txId", txID, "outcome", outcome)
	}
}

// Close leaves the group (so a successor takes the partitions at once) and closes the client.
func (p *Participant) Close() {
	p.client.Close()
}
