package main

// The business and the participant's promises (docs/participants.md, "The promises a participant
// keeps"). The business is a set of per-account counters: a transaction's work reserves an amount
// from one account; PREPARE holds it (vote NO when the account cannot cover it), COMMIT takes it,
// ABORT releases it. Everything here is pure state plus the store: no Kafka, no clock of its own.

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Vote is a participant's ballot on PREPARE.
type Vote string

const (
	VoteYes      Vote = "YES"
	VoteNo       Vote = "NO"
	VoteReadOnly Vote = "READ_ONLY"
)

// TxState is where one transaction stands at this participant.
type TxState string

const (
	// Voted YES: the amount is held and only the coordinator's decision releases it.
	StatePrepared TxState = "PREPARED"
	// Voted NO: nothing is held.
	StateRefused TxState = "REFUSED"
	// Voted READ_ONLY: nothing to do here whatever the outcome.
	StateReadOnly  TxState = "READ_ONLY"
	StateCommitted TxState = "COMMITTED"
	StateAborted   TxState = "ABORTED"
)

// TxRecord is this participant's durable memory of one transaction.
type TxRecord struct {
	TxID  string  `json:"txId"`
	State TxState `json:"state"`
	// The vote given, repeated for a duplicate PREPARE; empty when none was given (an ABORT that
	// overtook its PREPARE, a COMMIT of a transaction the store has no other record of).
	Vote   Vote   `json:"vote,omitempty"`
	Reason string `json:"reason,omitempty"`
	// The highest coordinator term seen in a command for this transaction: lower ones are ignored.
	Term    int64  `json:"term"`
	Account string `json:"account,omitempty"`
	Amount  int64  `json:"amount,omitempty"`
	// Voted NO on a one-phase COMMIT: a duplicate of that COMMIT gets the same VOTE NO.
	OnePhase bool `json:"onePhase,omitempty"`
	// How the decision arrived: "command" (COMMIT/ABORT on Kafka, also when it answers an
	// OUTCOME_QUERY) or "rest" (GET /v1/transactions/{id}/outcome during recovery).
	ResolvedBy string    `json:"resolvedBy,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Work is what a transaction asks of this participant, the `work` of its PREPARE. Work without a
// reservation is a read-only branch.
type Work struct {
	Reserve *Reservation `json:"reserve"`
}

// Reservation takes Amount (a positive integer) from Account if the transaction commits.
type Reservation struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// Result is what to do after a command: send Reply, or park the command with ParkReason, or
// neither (Ignored says why: a stale term).
type Result struct {
	Reply      *Reply
	ParkReason string
	Ignored    string
}

// Ledger is the participant's state, safe for the consumer loop, recovery and HTTP at once.
type Ledger struct {
	mu           sync.Mutex
	name         string
	store        *Store
	balances     map[string]int64
	held         map[string]int64
	transactions map[string]*TxRecord
	// When this process voted YES, so that recovery does not ask about a vote it just gave, and the
	// PREPARE's deadline, after which it asks all the same. Absent for records loaded at start:
	// every one of those is in doubt at once.
	votes map[string]yesVote
	// The highest coordinator term seen in any command: the newest leader heard from. A YES given
	// under an older term may be for a transaction that died with its leader (a leader sends
	// PREPARE before the transaction is in its log), so it is in doubt at once.
	leaderTerm int64
}

// A YES this process gave: when, and the deadline of the PREPARE it answered.
type yesVote struct {
	at, deadline time.Time
}

// Past a PREPARE's deadline the coordinator has decided, or has no record of the transaction (its
// leader sends PREPARE before the entry that records it is committed, and can die in between)
// and answers ABORT: a YES still undecided then, plus this margin, is in doubt.
const pastDeadlineGrace = time.Second

// NewLedger builds the state from the store's snapshot. `openingBalances` opens accounts the store
// does not know yet; an account it knows keeps its stored balance.
func NewLedger(name string, store *Store, snapshot Snapshot, openingBalances map[string]int64) *Ledger {
	ledger := &Ledger{
		name: name, store: store, balances: snapshot.Balances, held: map[string]int64{},
		transactions: snapshot.Transactions, votes: map[string]yesVote{},
	}
	opened := map[string]int64{}
	for account, balance := range openingBalances {
		if _, known := ledger.balances[account]; !known {
			ledger.balances[account] = balance
			opened[account] = balance
		}
	}
	if len(opened) > 0 {
		store.Append(Entry{Balances: opened})
	}
	for _, record := range ledger.transactions {
		if record.State == StatePrepared {
			ledger.held[record.Account] += record.Amount
		}
	}
	return ledger
}

// Sync makes every change so far durable; see Store.Sync.
func (l *Ledger) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.store.Sync()
}

// Handle applies one decoded command and says what to answer. Changes are appended to the store;
// the caller syncs it before it sends any reply.
func (l *Ledger) Handle(command Command, now time.Time) Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leaderTerm = max(l.leaderTerm, command.Term)
	record := l.transactions[command.TxID]
	if record != nil && command.Term < record.Term {
		return Result{Ignored: fmt.Sprintf("%s of term %d is older than term %d already seen for this transaction", command.Type, command.Term, record.Term)}
	}
	if record != nil && command.Term > record.Term {
		record.Term = command.Term
		l.save(record, nil, now)
	}
	switch command.Type {
	case Prepare:
		return l.prepare(command, record, now)
	case Commit:
		return l.commit(command, record, now)
	default:
		return l.abort(command, record, now)
	}
}

func (l *Ledger) prepare(command Command, record *TxRecord, now time.Time) Result {
	if record == nil {
		if command.Deadline.After(now) {
			record = l.vote(command, command.Work, now)
		} else {
			// The coordinator stopped waiting: holding the amount would only block others until the ABORT.
			record = &TxRecord{TxID: command.TxID, Term: command.Term, State: StateRefused, Vote: VoteNo,
				Reason: "the PREPARE's deadline had passed when it arrived"}
		}
		l.save(record, nil, now)
		if record.State == StatePrepared {
			l.votes[record.TxID] = yesVote{at: now, deadline: command.Deadline}
		}
		return l.voteReply(command, record, now)
	}
	switch record.State {
	case StateCommitted:
		return ack(command, OutcomeCommit, now)
	case StateAborted:
		// Decided already: a stale re-send. Never prepare again.
		return ack(command, OutcomeAbort, now)
	default:
		if record.Vote == "" {
			return Result{ParkReason: fmt.Sprintf("PREPARE for a transaction in state %s without a vote", record.State)}
		}
		return l.voteReply(command, record, now)
	}
}

func (l *Ledger) commit(command Command, record *TxRecord, now time.Time) Result {
	if record == nil {
		if command.OnePhase {
			record = l.vote(command, command.Work, now)
			if record.State == StateRefused {
				record.OnePhase = true
				l.save(record, nil, now)
				return l.voteReply(command, record, now)
			}
			return l.finishCommit(command, record, now)
		}
		// No record at all: this participant voted READ_ONLY (a YES or a NO would have left one).
		record = &TxRecord{TxID: command.TxID, Term: command.Term, State: StateReadOnly}
		return l.finishCommit(command, record, now)
	}
	switch record.State {
	case StatePrepared, StateReadOnly:
		return l.finishCommit(command, record, now)
	case StateCommitted:
		return ack(command, OutcomeCommit, now)
	case StateRefused:
		if record.OnePhase && command.OnePhase {
			return l.voteReply(command, record, now)
		}
		return Result{ParkReason: "COMMIT for a transaction this participant voted NO on: a coordinator bug or a forged message"}
	default:
		return Result{ParkReason: "COMMIT for a transaction this participant aborted: a coordinator bug or a forged message"}
	}
}

func (l *Ledger) abort(command Command, record *TxRecord, now time.Time) Result {
	if record == nil {
		// The ABORT overtook its PREPARE: remember the abort, so that the PREPARE is refused later.
		record = &TxRecord{TxID: command.TxID, Term: command.Term, State: StateAborted, ResolvedBy: "command"}
		l.save(record, nil, now)
		return ack(command, OutcomeAbort, now)
	}
	switch record.State {
	case StateCommitted:
		return Result{ParkReason: "ABORT for a transaction this participant committed: a coordinator bug or a forged message"}
	case StateAborted:
		return ack(command, OutcomeAbort, now)
	default:
		l.finishAbort(record, "command", now)
		return ack(command, OutcomeAbort, now)
	}
}

// vote decides a new PREPARE (or one-phase COMMIT) and returns the record, not yet saved.
func (l *Ledger) vote(command Command, rawWork json.RawMessage, now time.Time) *TxRecord {
	record := &TxRecord{TxID: command.TxID, Term: command.Term}
	refuse := func(reason string) *TxRecord {
		record.State, record.Vote, record.Reason = StateRefused, VoteNo, reason
		return record
	}
	var work Work
	if rawWork != nil {
		if err := decodeStrict(rawWork, &work); err != nil {
			return refuse(fmt.Sprintf("work is not {\"reserve\":{\"account\":…,\"amount\":…}}: %v", err))
		}
	}
	if work.Reserve == nil {
		record.State, record.Vote = StateReadOnly, VoteReadOnly
		return record
	}
	reservation := *work.Reserve
	if reservation.Amount <= 0 {
		return refuse(fmt.Sprintf("amount %d is not a positive integer", reservation.Amount))
	}
	balance, known := l.balances[reservation.Account]
	if !known {
		return refuse(fmt.Sprintf("account %q not found", reservation.Account))
	}
	available := balance - l.held[reservation.Account]
	if available < reservation.Amount {
		return refuse(fmt.Sprintf("insufficient funds in account %s: %d available, %d asked", reservation.Account, available, reservation.Amount))
	}
	l.held[reservation.Account] += reservation.Amount
	record.State, record.Vote = StatePrepared, VoteYes
	record.Account, record.Amount = reservation.Account, reservation.Amount
	return record
}

func (l *Ledger) finishCommit(command Command, record *TxRecord, now time.Time) Result {
	l.applyCommit(record, "command", now)
	return ack(command, OutcomeCommit, now)
}

func (l *Ledger) applyCommit(record *TxRecord, resolvedBy string, now time.Time) {
	var balances map[string]int64
	if record.State == StatePrepared {
		l.held[record.Account] -= record.Amount
		l.balances[record.Account] -= record.Amount
		balances = map[string]int64{record.Account: l.balances[record.Account]}
	}
	record.State, record.ResolvedBy = StateCommitted, resolvedBy
	delete(l.votes, record.TxID)
	l.save(record, balances, now)
}

func (l *Ledger) finishAbort(record *TxRecord, resolvedBy string, now time.Time) {
	if record.State == StatePrepared {
		l.held[record.Account] -= record.Amount
	}
	record.State, record.ResolvedBy = StateAborted, resolvedBy
	delete(l.votes, record.TxID)
	l.save(record, nil, now)
}

// save appends the record's new state, with the balances it changed, to the store. Both go in one
// line, so a crash never leaves a commit recorded without its debit or the other way round.
func (l *Ledger) save(record *TxRecord, balances map[string]int64, now time.Time) {
	record.UpdatedAt = now
	l.transactions[record.TxID] = record
	copied := *record
	l.store.Append(Entry{Tx: &copied, Balances: balances})
}

func (l *Ledger) voteReply(command Command, record *TxRecord, now time.Time) Result {
	reply := VoteReply(command, record.Vote, record.Reason, now)
	return Result{Reply: &reply}
}

func ack(command Command, outcome Outcome, now time.Time) Result {
	reply := AckReply(command, outcome, now)
	return Result{Reply: &reply}
}

// InDoubt lists the transactions held prepared: those loaded at start and those voted on under an
// older leader's term at once, those this process voted on only after `after` has passed (a
// decision is normally on its way) or their deadline.
func (l *Ledger) InDoubt(now time.Time, after time.Duration) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var txIDs []string
	for txID, record := range l.transactions {
		if record.State != StatePrepared {
			continue
		}
		if given, recent := l.votes[txID]; recent && now.Sub(given.at) < after &&
			!now.After(given.deadline.Add(pastDeadlineGrace)) && record.Term >= l.leaderTerm {
			continue
		}
		txIDs = append(txIDs, txID)
	}
	sort.Strings(txIDs)
	return txIDs
}

// Resolve applies an outcome learned over REST to a transaction still held prepared; it reports
// whether anything changed. The ACK is left to the COMMIT/ABORT the coordinator keeps re-sending.
func (l *Ledger) Resolve(txID string, outcome Outcome, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	record := l.transactions[txID]
	if record == nil || record.State != StatePrepared {
		return false
	}
	if outcome == OutcomeCommit {
		l.applyCommit(record, "rest", now)
	} else {
		l.finishAbort(record, "rest", now)
	}
	return true
}

// AccountView is one account as GET /state shows it.
type AccountView struct {
	Balance   int64 `json:"balance"`
	Held      int64 `json:"held"`
	Available int64 `json:"available"`
}

// StateView is GET /state: what this participant holds, for operators and tests.
type StateView struct {
	Participant  string                 `json:"participant"`
	Accounts     map[string]AccountView `json:"accounts"`
	Transactions map[string]TxRecord    `json:"transactions"`
}

// View copies the state under the lock.
func (l *Ledger) View() StateView {
	l.mu.Lock()
	defer l.mu.Unlock()
	view := StateView{Participant: l.name, Accounts: map[string]AccountView{}, Transactions: map[string]TxRecord{}}
	for account, balance := range l.balances {
		held := l.held[account]
		view.Accounts[account] = AccountView{Balance: balance, Held: held, Available: balance - held}
	}
	for txID, record := range l.transactions {
		view.Transactions[txID] = *record
	}
	return view
}
