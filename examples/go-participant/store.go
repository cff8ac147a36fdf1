package main

// The participant's durable memory: one append-only file of JSON lines, each the new state of one
// transaction and of the account balances it changed. Why not a database: the state is a few
// records per transaction, read whole at start; an append plus one fsync per consumer batch is the
// cheapest durable write there is (group commit: one fsync covers every vote and ACK of a batch),
// and the file can be read with `cat`. The last line wins for a transaction or an account.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Entry is one line of the store.
type Entry struct {
	Tx       *TxRecord        `json:"tx,omitempty"`
	Balances map[string]int64 `json:"balances,omitempty"`
}

// Store appends entries and makes them durable on Sync.
type Store struct {
	path    string
	file    *os.File
	pending bytes.Buffer
}

// Snapshot is everything the file says, replayed.
type Snapshot struct {
	Transactions map[string]*TxRecord
	Balances     map[string]int64
	// Lines read, to decide whether the file is worth compacting.
	Lines int
}

// OpenStore replays the file at path (creating it if missing) and compacts it when it has grown
// well past the state it describes.
func OpenStore(path string) (*Store, Snapshot, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, Snapshot{}, fmt.Errorf("store folder: %w", err)
	}
	snapshot, validBytes, err := replay(path)
	if err != nil {
		return nil, Snapshot{}, err
	}
	if snapshot.Lines > 2*(len(snapshot.Transactions)+1) {
		if err := rewrite(path, snapshot); err != nil {
			return nil, Snapshot{}, err
		}
	} else if err := truncateTornTail(path, validBytes); err != nil {
		return nil, Snapshot{}, err
	}
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, Snapshot{}, fmt.Errorf("store: %w", err)
	}
	if err := syncDirectory(filepath.Dir(path)); err != nil {
		_ = file.Close()
		return nil, Snapshot{}, err
	}
	return &Store{path: path, file: file}, snapshot, nil
}

// replay reads every complete line. A last line without its newline is a write the process did
// not finish before it died: it was never synced, so nothing was promised on it, and it is dropped.
// A bad line anywhere else is corruption and stops the start.
func replay(path string) (Snapshot, int64, error) {
	snapshot := Snapshot{Transactions: map[string]*TxRecord{}, Balances: map[string]int64{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return snapshot, 0, nil
	}
	if err != nil {
		return snapshot, 0, fmt.Errorf("store: %w", err)
	}
	reader := bufio.NewReader(bytes.NewReader(data))
	var valid int64
	for line := 1; ; line++ {
		text, err := reader.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// len(text) > 0 here is the torn tail.
			return snapshot, valid, nil
		}
		var entry Entry
		if err := json.Unmarshal(text, &entry); err != nil {
			return snapshot, 0, fmt.Errorf("store %s line %d is corrupt: %w", path, line, err)
		}
		if entry.Tx != nil {
			snapshot.Transactions[entry.Tx.TxID] = entry.Tx
		}
		for account, balance := range entry.Balances {
			snapshot.Balances[account] = balance
		}
		snapshot.Lines++
		valid += int64(len(text))
	}
}

func truncateTornTail(path string, validBytes int64) error {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && info.Size() == validBytes) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.Truncate(path, validBytes); err != nil {
		return fmt.Errorf("store: dropping the unfinished last line: %w", err)
	}
	return nil
}

// rewrite replaces the file by one line per transaction plus the balances: written to a temporary
// file, synced, renamed over the old one, and the folder synced, so a crash leaves one or the other.
func rewrite(path string, snapshot Snapshot) error {
	temporary := path + ".compacting"
	file, err := os.OpenFile(temporary, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("store compaction: %w", err)
	}
	writer := bufio.NewWriter(file)
	encoder := json.NewEncoder(writer)
	err = encoder.Encode(Entry{Balances: snapshot.Balances})
	for _, record := range snapshot.Transactions {
		if err == nil {
			err = encoder.Encode(Entry{Tx: record})
		}
	}
	if err == nil {
		err = writer.Flush()
	}
	if err == nil {
		err = file.Sync()
	}
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(temporary, path)
	}
	if err != nil {
		return fmt.Errorf("store compaction: %w", err)
	}
	return syncDirectory(filepath.Dir(path))
}

func syncDirectory(path string) error {
	directory, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store folder: %w", err)
	}
	defer directory.Close()
	if err := directory.Sync(); err != nil {
		return fmt.Errorf("store folder sync: %w", err)
	}
	return nil
}

// Append queues an entry; it is durable only after the next Sync.
func (s *Store) Append(entry Entry) {
	line, err := json.Marshal(entry)
	if err != nil {
		// Every field is a plain string, number or map of them: this cannot fail.
		panic(fmt.Sprintf("store entry does not encode: %v", err))
	}
	s.pending.Write(line)
	s.pending.WriteByte('\n')
}

// Sync writes what was appended and fsyncs. Nothing that depends on those entries (a vote, an
// ACK) may leave the process before it returns nil.
func (s *Store) Sync() error {
	if s.pending.Len() == 0 {
		return nil
	}
	if _, err := s.file.Write(s.pending.Bytes()); err != nil {
		return fmt.Errorf("store write: %w", err)
	}
	s.pending.Reset()
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("store fsync: %w", err)
	}
	return nil
}

// Close syncs what is pending and closes the file.
func (s *Store) Close() error {
	err := s.Sync()
	if closeErr := s.file.Close(); err == nil {
		err = closeErr
	}
	return err
}
