package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAsksEachNodeUntilOneAnswers(t *testing.T) {
	answers := map[string]string{
		"/v1/transactions/" + tx1 + "/outcome": `{"txId":"` + tx1 + `","outcome":"COMMIT"}`,
		"/v1/transactions/" + tx2 + "/outcome": `{"txId":"` + tx2 + `","outcome":null}`,
		"/v1/transactions/" + tx3 + "/outcome": `{"txId":"` + tx3 + `","outcome":"ABORT","presumed":true}`,
	}
	node := httptest.NewServer(http.HandlerFunc(func(writer http.ResponseWriter, request *http.Request) {
		if request.Header.Get("Authorization") != "Bearer service-key-0123456789" {
			http.Error(writer, `{"code":"UNAUTHENTICATED"}`, http.StatusUnauthorized)
			return
		}
		answer, known := answers[request.URL.Path]
		if !known {
			http.NotFound(writer, request)
			return
		}
		_, _ = writer.Write([]byte(answer))
	}))
	defer node.Close()
	down := httptest.NewServer(http.HandlerFunc(func(writer http.ResponseWriter, _ *http.Request) {
		http.Error(writer, `{"code":"NO_LEADER"}`, http.StatusServiceUnavailable)
	}))
	defer down.Close()

	client := NewOutcomeClient([]string{down.URL, node.URL}, "service-key-0123456789")
	for txID, want := range map[string]Outcome{tx1: OutcomeCommit, tx2: "", tx3: OutcomeAbort, "019ab8c2-6f10-7a3e-9d41-000000000009": ""} {
		got, err := client.Outcome(context.Background(), txID)
		if err != nil || got != want {
			t.Fatalf("%s: got %q (%v), want %q", txID, got, err, want)
		}
	}
	_, err := NewOutcomeClient([]string{down.URL}, "service-key-0123456789").Outcome(context.Background(), tx1)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("no node answering is an error, got %v", err)
	}
	_, err = NewOutcomeClient([]string{node.URL}, "wrong-key-0123456789").Outcome(context.Background(), tx1)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("a refused key is an error, got %v", err)
	}
}

func TestConfigurationNamesEveryBadVariable(t *testing.T) {
	env := map[string]string{
		"VERDICT_PARTICIPANT_NAME":     "Bank A",
		"VERDICT_COORDINATOR_URL":      "ftp://x",
		"VERDICT_ACCOUNTS":             "alice=-3",
		"VERDICT_RECOVERY_INTERVAL_MS": "soon",
	}
	_, err := LoadConfig(func(name string) (string, bool) { value, ok := env[name]; return value, ok })
	if err == nil {
		t.Fatal("a bad configuration was accepted")
	}
	for _, name := range []string{"VERDICT_PARTICIPANT_NAME", "KAFKA_BROKERS", "VERDICT_COORDINATOR_URL", "VERDICT_ACCOUNTS", "VERDICT_RECOVERY_INTERVAL_MS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s:\n%v", name, err)
		}
	}
	env = map[string]string{
		"VERDICT_PARTICIPANT_NAME": "bank-go", "KAFKA_BROKERS": "127.0.0.1:9092, 127.0.0.1:9093",
		"VERDICT_COORDINATOR_URL": "http://127.0.0.1:8080,http://127.0.0.1:8081", "VERDICT_API_KEY": "service-key-0123456789",
		"VERDICT_ACCOUNTS": "alice=100,bob=0",
	}
	config, err := LoadConfig(func(name string) (string, bool) { value, ok := env[name]; return value, ok })
	if err != nil {
		t.Fatal(err)
	}
	if len(config.Brokers) != 2 || len(config.CoordinatorURLs) != 2 || config.OpeningBalances["alice"] != 100 || config.StorePath != ".verdict/go-participant/bank-go.jsonl" {
		t.Fatalf("config %+v", config)
	}
}
