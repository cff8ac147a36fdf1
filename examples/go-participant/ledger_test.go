package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var clock = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	path   string
	store  *Store
	ledger *Ledger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "bank-a.jsonl")}
	f.open(map[string]int64{"alice": 100, "bob": 10})
	return f
}

func (f *fixture) open(opening map[string]int64) {
	f.t.Helper()
	store, snapshot, err := OpenStore(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.store = store
	f.ledger = NewLedger(testSelf, store, snapshot, opening)
	f.sync()
	f.t.Cleanup(func() { _ = store.Close() })
}

func (f *fixture) sync() {
	f.t.Helper()
	if err := f.ledger.Sync(); err != nil {
		f.t.Fatal(err)
	}
}

// restart drops the process memory: only what was synced comes back.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.store.file.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.open(map[string]int64{"alice": 999})
}

func command(kind CommandType, tx string, term int64, work string) Command {
	c := Command{Type: kind, TxID: tx, Participant: testSelf, Term: term, Attempt: 1, SentAt: clock,
		Deadline: clock.Add(10 * time.Second), Participants: []string{"bank-a", "bank-b"}}
	if work != "" {
		c.Work = []byte(work)
	}
	return c
}

func reserve(account string, amount int) string {
	return `{"reserve":{"account":"` + account + `","amount":` + strconv.Itoa(amount) + `}}`
}

// handle runs a command the way the consumer loop does (apply, then sync) and describes the answer.
func (f *fixture) handle(c Command) string {
	f.t.Helper()
	result := f.ledger.Handle(c, clock)
	f.sync()
	switch {
	case result.Ignored != "":
		return "ignored"
	case result.ParkReason != "":
		return "park: " + result.ParkReason
	case result.Reply.Type == "VOTE":
		payload := result.Reply.Payload.(votePayload)
		if payload.Reason != "" {
			return "VOTE " + string(payload.Vote) + ": " + payload.Reason
		}
		return "VOTE " + string(payload.Vote)
	default:
		return "ACK " + string(result.Reply.Payload.(ackPayload).Outcome)
	}
}

func (f *fixture) expect(c Command, want string) {
	f.t.Helper()
	if got := f.handle(c); !strings.HasPrefix(got, want) {
		f.t.Fatalf("%s term %d: got %q, want %q", c.Type, c.Term, got, want)
	}
}

func (f *fixture) account(name string) AccountView {
	return f.ledger.View().Accounts[name]
}

const (
	tx1 = "019ab8c2-6f10-7a3e-9d41-000000000001"
	tx2 = "019ab8c2-6f10-7a3e-9d41-000000000002"
	tx3 = "019ab8c2-6f10-7a3e-9d41-000000000003"
)

func TestPrepareHoldsCommitTakesAbortReleases(t *testing.T) {
	f := newFixture(t)
	f.expect(command(Prepare, tx1, 1, reserve("alice", 60)), "VOTE YES")
	if got := f.account("alice"); got != (AccountView{Balance: 100, Held: 60, Available: 40}) {
		t.Fatalf("after PREPARE %+v", got)
	}
	f.expect(command(Prepare, tx2, 1, reserve("alice", 50)), "VOTE NO: insufficient funds in account alice: 40 available, 50 asked")
	f.expect(command(Prepare, tx3, 1, reserve("alice", 40)), "VOTE YES")
	f.expect(command(Commit, tx1, 1, ""), "ACK COMMIT")
	f.expect(command(Abort, tx3, 1, ""), "ACK ABORT")
	f.expect(command(Abort, tx2, 1, ""), "ACK ABORT")
	if got := f.account("alice"); got != (AccountView{Balance: 40, Held: 0, Available: 40}) {
		t.Fatalf("after COMMIT and ABORT %+v", got)
	}
}

func TestVotesNoOnWorkItCannotDo(t *testing.T) {
	f := newFixture(t)
	f.expect(command(Prepare, tx1, 1, reserve("carol", 1)), `VOTE NO: account "carol" not found`)
	f.expect(command(Prepare, tx2, 1, reserve("alice", 0)), "VOTE NO: amount 0 is not a positive integer")
	f.expect(command(Prepare, tx3, 1, `{"debit":{"account":"alice"}}`), `VOTE NO: work is not`)
	late := command(Prepare, "019ab8c2-6f10-7a3e-9d41-000000000004", 1, reserve("alice", 1))
	late.Deadline = clock.Add(-time.Millisecond)
	f.expect(late, "VOTE NO: the PREPARE's deadline had passed")
	if got := f.account("alice"); got.Held != 0 {
		t.Fatalf("a NO holds nothing: %+v", got)
	}
}

func TestReadOnlyWhenNothingToDo(t *testing.T) {
	f := newFixture(t)
	f.expect(command(Prepare, tx1, 1, ""), "VOTE READ_ONLY")
	f.expect(command(Prepare, tx2, 1, `{}`), "VOTE READ_ONLY")
	f.expect(command(Commit, tx1, 1, ""), "ACK COMMIT")
	f.expect(command(Abort, tx2, 1, ""), "ACK ABORT")
	// No record at all: the contract reads it as a READ_ONLY vote.
	f.expect(command(Commit, tx3, 1, ""), "ACK COMMIT")
}

func TestDuplicatesGetTheSameAnswer(t *testing.T) {
	f := newFixture(t)
	f.expect(command(Prepare, tx1, 1, reserve("alice", 30)), "VOTE YES")
	f.expect(command(Prepare, tx1, 1, reserve("alice", 30)), "VOTE YES")
	if held := f.account("alice").Held; held != 30 {
		t.Fatalf("a repeated PREPARE prepared twice: held %d", held)
	}
	f.expect(command(Prepare, tx2, 1, reserve("bob", 11)), "VOTE NO: insufficient")
	f.expect(command(Prepare, tx2, 1, reserve("bob", 1)), "VOTE NO: insufficient funds in account bob")
	f.expect(command(Commit, tx1, 1, ""), "ACK COMMIT")
	f.expect(command(Commit, tx1, 1, ""), "ACK COMMIT")
	if got := f.account("alice"); got.Balance != 70 {
		t.Fatalf("a repeated COMMIT applied twice: %+v", got)
	}
	// A PREPARE re-sent after the decision gets the ACK and never prepares again.
	f.expect(command(Prepare, tx1, 1, reserve("alice", 30)), "ACK COMMIT")
	f.expect(command(Abort, tx2, 1, ""), "ACK ABORT")
	f.expect(command(Abort, tx2, 1, ""), "ACK ABORT")
	f.expect(command(Prepare, tx2, 1, reserve("bob", 1)), "ACK ABORT")
}

func TestReorderedCommands(t *testing.T) {
	f := newFixture(t)
	// The ABORT overtook its PREPARE: recorded, and the PREPARE is refused later.
	f.expect(command(Abort, tx1, 1, ""), "ACK ABORT")
	f.expect(command(Prepare, tx1, 1, reserve("alice", 10)), "ACK ABORT")
	if held := f.account("alice").Held; held != 0 {
		t.Fatalf("a PREPARE after its ABORT held %d", held)
	}
	// Contradictions are parked, never applied.
	f.expect(command(Commit, tx1, 1, ""), "park: COMMIT for a transaction this participant aborted")
	f.expect(command(Prepare, tx2, 1, reserve("alice", 1000)), "VOTE NO")
	f.expect(command(Commit, tx2, 1, ""), "park: COMMIT for a transaction this participant voted NO on")
	f.expect(command(Prepare, tx3, 1, reserve("alice", 10)), "VOTE YES")
	f.expect(command(Commit, tx3, 1, ""), "ACK COMMIT")
	f.expect(command(Abort, tx3, 1, ""), "park: ABORT for a transaction this participant committed")
	if got := f.account("alice"); got.Balance != 90 {
		t.Fatalf("balance %+v", got)
	}
}

func TestStaleTermsAreIgnored(t *testing.T) {
	f := newFixture(t)
	f.expect(command(Prepare, tx1, 5, reserve("alice", 10)), "VOTE YES")
	f.expect(command(Abort, tx1, 4, ""), "ignored")
	f.expect(command(Commit, tx1, 4, ""), "ignored")
	if state := f.ledger.View().Transactions[tx1].State; state != StatePrepared {
		t.Fatalf("a deposed leader's command changed the state to %s", state)
	}
	// A newer leader re-sends at a higher term; after that the old term is stale too.
	f.expect(command(Prepare, tx1, 7, reserve("alice", 10)), "VOTE YES")
	f.expect(command(Commit, tx1, 6, ""), "ignored")
	f.expect(command(Commit, tx1, 7, ""), "ACK COMMIT")
	// The highest term survives a restart.
	f.restart()
	f.expect(command(Abort, tx1, 6, ""), "ignored")
	f.expect(command(Commit, tx1, 8, ""), "ACK COMMIT")
	if term := f.ledger.View().Transactions[tx1].Term; term != 8 {
		t.Fatalf("term %d, want 8", term)
	}
}

func TestOnePhaseCommit(t *testing.T) {
	f := newFixture(t)
	one := func(tx, work string) Command {
		c := command(Commit, tx, 1, work)
		c.OnePhase = true
		return c
	}
	f.expect(one(tx1, reserve("alice", 30)), "ACK COMMIT")
	f.expect(one(tx1, reserve("alice", 30)), "ACK COMMIT")
	f.expect(one(tx2, reserve("alice", 71)), "VOTE NO: insufficient")
	f.expect(one(tx2, reserve("alice", 71)), "VOTE NO: insufficient")
	f.expect(command(Abort, tx2, 1, ""), "ACK ABORT")
	if got := f.account("alice"); got != (AccountView{Balance: 70, Available: 70}) {
		t.Fatalf("after one-phase commits %+v", got)
	}
}

func TestAYesOfAnOlderLeaderIsInDoubtOnceANewerOneSpeaks(t *testing.T) {
	f := newFixture(t)
	f.expect(command(Prepare, tx1, 2, reserve("alice", 30)), "VOTE YES")
	if inDoubt := f.ledger.InDoubt(clock, time.Minute); len(inDoubt) != 0 {
		t.Fatalf("a vote just given is not in doubt yet: %v", inDoubt)
	}
	// The next leader's first command, for another transaction: tx1 may have died with term 2.
	f.expect(command(Prepare, tx2, 3, reserve("bob", 5)), "VOTE YES")
	if got := strings.Join(f.ledger.InDoubt(clock, time.Minute), ","); got != tx1 {
		t.Fatalf("in doubt once term 3 spoke: %s", got)
	}
	// Resumed by the new leader (its PREPARE again, under term 3): no longer asked about early.
	f.expect(command(Prepare, tx1, 3, reserve("alice", 30)), "VOTE YES")
	if inDoubt := f.ledger.InDoubt(clock, time.Minute); len(inDoubt) != 0 {
		t.Fatalf("resumed under the new term: %v", inDoubt)
	}
}

func TestMemorySurvivesARestart(t *testing.T) {
	f := newFixture(t)
	f.expect(command(Prepare, tx1, 2, reserve("alice", 30)), "VOTE YES")
	f.expect(command(Prepare, tx2, 2, reserve("alice", 30)), "VOTE YES")
	f.expect(command(Prepare, tx3, 2, reserve("bob", 5)), "VOTE YES")
	f.expect(command(Commit, tx3, 2, ""), "ACK COMMIT")
	if inDoubt := f.ledger.InDoubt(clock, time.Minute); len(inDoubt) != 0 {
		t.Fatalf("votes just given are not in doubt yet: %v", inDoubt)
	}
	// Past the PREPAREs' deadline (10 s) they are, whatever `after` says: nothing will decide a
	// transaction whose BEGIN the coordinator lost, so only asking ends it.
	if got := strings.Join(f.ledger.InDoubt(clock.Add(11*time.Second+time.Millisecond), time.Minute), ","); got != tx1+","+tx2 {
		t.Fatalf("in doubt past the deadline: %s", got)
	}
	f.restart()
	// Opening balances do not reset an account the store knows.
	if got := f.account("alice"); got != (AccountView{Balance: 100, Held: 60, Available: 40}) {
		t.Fatalf("after restart %+v", got)
	}
	if got := strings.Join(f.ledger.InDoubt(clock, time.Minute), ","); got != tx1+","+tx2 {
		t.Fatalf("in doubt after restart: %s", got)
	}
	f.expect(command(Prepare, tx1, 2, reserve("alice", 30)), "VOTE YES")
	f.expect(command(Prepare, tx3, 2, reserve("bob", 5)), "ACK COMMIT")
	if !f.ledger.Resolve(tx1, OutcomeCommit, clock) || !f.ledger.Resolve(tx2, OutcomeAbort, clock) {
		t.Fatal("the outcomes learned over REST were not applied")
	}
	f.sync()
	if f.ledger.Resolve(tx1, OutcomeCommit, clock) {
		t.Fatal("a resolved transaction was resolved again")
	}
	// The COMMIT the coordinator keeps re-sending is acknowledged as usual.
	f.expect(command(Commit, tx1, 2, ""), "ACK COMMIT")
	f.restart()
	view := f.ledger.View()
	if got := view.Accounts["alice"]; got != (AccountView{Balance: 70, Available: 70}) {
		t.Fatalf("after recovery %+v", got)
	}
	if record := view.Transactions[tx2]; record.State != StateAborted || record.ResolvedBy != "rest" {
		t.Fatalf("%s: %+v", tx2, record)
	}
	if len(f.ledger.InDoubt(clock, 0)) != 0 {
		t.Fatal("nothing is in doubt after recovery")
	}
}

// A vote leaves the process only after Sync; what was never synced is not remembered.
func TestUnsyncedChangesAreNotRemembered(t *testing.T) {
	f := newFixture(t)
	f.ledger.Handle(command(Prepare, tx1, 1, reserve("alice", 30)), clock)
	f.restart()
	if _, known := f.ledger.View().Transactions[tx1]; known {
		t.Fatal("an unsynced PREPARE came back after a restart")
	}
}
