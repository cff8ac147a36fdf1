package main

// GET {coordinatorUrl}/v1/transactions/{txId}/outcome, the REST half of recovery. Any coordinator
// node answers (followers forward to the leader); the nodes are tried in turn.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OutcomeClient asks the coordinator for the decision of one transaction.
type OutcomeClient struct {
	urls   []string
	apiKey string
	http   *http.Client
}

func NewOutcomeClient(urls []string, apiKey string) *OutcomeClient {
	return &OutcomeClient{urls: urls, apiKey: apiKey, http: &http.Client{Timeout: 5 * time.Second}}
}

type outcomeAnswer struct {
	TxID    string   `json:"txId"`
	Outcome *Outcome `json:"outcome"`
}

// Outcome returns COMMIT or ABORT, or "" while the transaction is undecided (or unknown to a
// node that answered 404: keep waiting, as the contract says). An error means no node answered.
func (c *OutcomeClient) Outcome(ctx context.Context, txID string) (Outcome, error) {
	var failures []string
	for _, base := range c.urls {
		outcome, err := c.ask(ctx, base, txID)
		if err == nil {
			return outcome, nil
		}
		failures = append(failures, fmt.Sprintf("%s: %v", base, err))
	}
	return "", errors.New(strings.Join(failures, "; "))
}

func (c *OutcomeClient) ask(ctx context.Context, base, txID string) (Outcome, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimRight(base, "/")+"/v1/transactions/"+url.PathEscape(txID)+"/outcome", nil)
	if err != nil {
		return "", err
	}
	request.Header.Set("Authorization", "Bearer "+c.apiKey)
	request.Header.Set("Accept", "application/json")
	response, err := c.http.Do(request)
	if err != nil {
		return "", err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(response.Body, 1<<16))
	if err != nil {
		return "", err
	}
	switch {
	case response.StatusCode == http.StatusNotFound:
		return "", nil
	case response.StatusCode != http.StatusOK:
		return "", fmt.Errorf("HTTP %d: %s", response.StatusCode, strings.TrimSpace(string(body)))
	}
	var answer outcomeAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("answer is not the documented JSON: %w", err)
	}
	if answer.TxID != txID {
		return "", fmt.Errorf("answer is about %q, not %q", answer.TxID, txID)
	}
	if answer.Outcome == nil {
		return "", nil
	}
	switch *answer.Outcome {
	case OutcomeCommit, OutcomeAbort:
		return *answer.Outcome, nil
	default:
		return "", fmt.Errorf("outcome %q is neither COMMIT nor ABORT", *answer.Outcome)
	}
}
