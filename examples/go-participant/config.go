package main

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is read from the environment; every bad variable is named in one error.
type Config struct {
	Name             string
	Brokers          []string
	CoordinatorURLs  []string
	APIKey           string
	HTTPAddress      string
	StorePath        string
	OpeningBalances  map[string]int64
	RecoveryInterval time.Duration
	InDoubtAfter     time.Duration
	OutcomeQueryWait time.Duration
	SessionTimeout   time.Duration
	LogLevel         string
}

// LoadConfig reads the variables documented in README.md from `lookup` (os.LookupEnv).
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	var problems []string
	get := func(name, fallback string) string {
		if value, ok := lookup(name); ok && value != "" {
			return value
		}
		return fallback
	}
	milliseconds := func(name string, fallback int) time.Duration {
		text := get(name, strconv.Itoa(fallback))
		value, err := strconv.Atoi(text)
		if err != nil || value < 1 {
			problems = append(problems, fmt.Sprintf("%s=%q: a positive integer (milliseconds)", name, text))
			return time.Duration(fallback) * time.Millisecond
		}
		return time.Duration(value) * time.Millisecond
	}
	config := Config{
		Name:             get("VERDICT_PARTICIPANT_NAME", ""),
		APIKey:           get("VERDICT_API_KEY", ""),
		StorePath:        get("VERDICT_STORE_FILE", ""),
		RecoveryInterval: milliseconds("VERDICT_RECOVERY_INTERVAL_MS", 5_000),
		InDoubtAfter:     milliseconds("VERDICT_IN_DOUBT_AFTER_MS", 10_000),
		OutcomeQueryWait: milliseconds("VERDICT_OUTCOME_QUERY_WAIT_MS", 2_000),
		SessionTimeout:   milliseconds("VERDICT_KAFKA_SESSION_TIMEOUT_MS", 10_000),
		LogLevel:         get("LOG_LEVEL", "info"),
	}
	if !participantNamePattern.MatchString(config.Name) {
		problems = append(problems, fmt.Sprintf("VERDICT_PARTICIPANT_NAME=%q: lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters", config.Name))
	}
	for _, broker := range strings.Split(get("KAFKA_BROKERS", ""), ",") {
		if broker = strings.TrimSpace(broker); broker != "" {
			config.Brokers = append(config.Brokers, broker)
		}
	}
	if len(config.Brokers) == 0 {
		problems = append(problems, "KAFKA_BROKERS: required, host:port[,host:port…]")
	}
	for _, text := range strings.Split(get("VERDICT_COORDINATOR_URL", ""), ",") {
		if text = strings.TrimSpace(text); text == "" {
			continue
		}
		parsed, err := url.Parse(text)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			problems = append(problems, fmt.Sprintf("VERDICT_COORDINATOR_URL: %q is not an http(s) URL", text))
			continue
		}
		config.CoordinatorURLs = append(config.CoordinatorURLs, text)
	}
	if len(config.CoordinatorURLs) > 0 && len(config.APIKey) < 16 {
		problems = append(problems, "VERDICT_API_KEY: a service API key of 16 or more characters is needed with VERDICT_COORDINATOR_URL")
	}
	port := get("VERDICT_HTTP_PORT", "0")
	if value, err := strconv.Atoi(port); err != nil || value < 0 || value > 65535 {
		problems = append(problems, fmt.Sprintf("VERDICT_HTTP_PORT=%q: a port number (0 picks a free one)", port))
	}
	config.HTTPAddress = "127.0.0.1:" + port
	if host := get("VERDICT_HTTP_HOST", ""); host != "" {
		config.HTTPAddress = host + ":" + port
	}
	if config.StorePath == "" {
		config.StorePath = filepath.Join(".verdict", "go-participant", config.Name+".jsonl")
	}
	balances, err := parseBalances(get("VERDICT_ACCOUNTS", ""))
	if err != nil {
		problems = append(problems, "VERDICT_ACCOUNTS: "+err.Error())
	}
	config.OpeningBalances = balances
	switch config.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("LOG_LEVEL=%q: debug, info, warn or error", config.LogLevel))
	}
	if len(problems) > 0 {
		return config, errors.New("bad configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return config, nil
}

// parseBalances reads "alice=10000,bob=500": accounts opened with these balances on first start.
func parseBalances(text string) (map[string]int64, error) {
	balances := map[string]int64{}
	for _, pair := range strings.Split(text, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		account, amount, found := strings.Cut(pair, "=")
		value, err := strconv.ParseInt(amount, 10, 64)
		if !found || account == "" || err != nil || value < 0 {
			return nil, fmt.Errorf("%q is not account=non-negative integer", pair)
		}
		balances[account] = value
	}
	return balances, nil
}
