// Command go-participant takes part in Verdict transactions over Kafka, written from
// docs/participants.md alone. Its business is a set of per-account counters: a transaction
// reserves an amount from one account. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-participant:", err)
		os.Exit(1)
	}
}

func run() error {
	config, err := LoadConfig(os.LookupEnv)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(config.LogLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})).With("participant", config.Name)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, snapshot, err := OpenStore(config.StorePath)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing the store failed", "error", err)
		}
	}()
	ledger := NewLedger(config.Name, store, snapshot, config.OpeningBalances)
	if err := ledger.Sync(); err != nil {
		return err
	}
	log.Info("store loaded", "file", config.StorePath, "transactions", len(snapshot.Transactions), "inDoubt", len(ledger.InDoubt(time.Now(), 0)))

	listener, err := net.Listen("tcp", config.HTTPAddress)
	if err != nil {
		return fmt.Errorf("HTTP listener on %s: %w", config.HTTPAddress, err)
	}
	server := &http.Server{Handler: routes(ledger), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "error", err)
		}
	}()
	defer server.Close()

	participant, err := NewParticipant(ctx, config, ledger, log)
	if err != nil {
		return err
	}
	defer participant.Close()
	// The test and operators wait for this line: it carries the HTTP address actually bound.
	log.Info("participant started", "http", "http://"+listener.Addr().String(), "topic", topicPrefix+config.Name)
	if err := participant.Run(ctx); err != nil {
		return err
	}
	log.Info("participant stopping")
	return nil
}

func routes(ledger *Ledger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(writer http.ResponseWriter, _ *http.Request) {
		writer.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(writer).Encode(ledger.View())
	})
	mux.HandleFunc("GET /health", func(writer http.ResponseWriter, _ *http.Request) {
		writer.Header().Set("Content-Type", "application/json")
		_, _ = writer.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return mux
}
