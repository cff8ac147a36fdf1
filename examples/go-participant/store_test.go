package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTornLastLineIsDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	store, _, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	store.Append(Entry{Tx: &TxRecord{TxID: tx1, State: StatePrepared, Account: "alice", Amount: 5}})
	store.Append(Entry{Balances: map[string]int64{"alice": 100}})
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of a write leaves half a line and no newline.
	file, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteString(`{"tx":{"txId":"` + tx2); err != nil {
		t.Fatal(err)
	}
	_ = file.Close()

	store, snapshot, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(snapshot.Transactions) != 1 || snapshot.Transactions[tx1] == nil || snapshot.Balances["alice"] != 100 {
		t.Fatalf("snapshot %+v", snapshot)
	}
	store.Append(Entry{Tx: &TxRecord{TxID: tx3, State: StateAborted}})
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	// The torn tail was cut before appending, so the new line is whole.
	_, snapshot, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if snapshot.Transactions[tx3] == nil || snapshot.Transactions[tx2] != nil {
		t.Fatalf("after appending past a torn tail %+v", snapshot.Transactions)
	}
}

func TestCorruptionInTheMiddleStopsTheStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(path, []byte("{\"balances\":{\"a\":1}}\nnot json\n{\"balances\":{\"a\":2}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := OpenStore(path)
	if err == nil || !strings.Contains(err.Error(), "line 2 is corrupt") {
		t.Fatalf("error %v", err)
	}
}

func TestCompactionKeepsTheLastStateOfEach(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	store, _, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	for balance := int64(0); balance < 50; balance++ {
		store.Append(Entry{Tx: &TxRecord{TxID: tx1, State: StatePrepared, Term: balance}, Balances: map[string]int64{"alice": balance}})
	}
	store.Append(Entry{Tx: &TxRecord{TxID: tx2, State: StateCommitted}})
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	store, snapshot, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = store.Close()
	if snapshot.Balances["alice"] != 49 || snapshot.Transactions[tx1].Term != 49 || snapshot.Transactions[tx2].State != StateCommitted {
		t.Fatalf("replayed %+v", snapshot)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines != 3 {
		t.Fatalf("compacted to %d lines, want 3 (balances, two transactions)", lines)
	}
	_, again, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.Balances["alice"] != 49 || again.Transactions[tx1].Term != 49 || len(again.Transactions) != 2 {
		t.Fatalf("after compaction %+v", again)
	}
}
