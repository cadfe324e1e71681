package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckCmd asks a running nightowl whether it is alive: GET
// /healthz on METRICS_ADDR (or --url). It exits 0 on a 200 and 1 on
// anything else, with one line either way, as Docker's HEALTHCHECK wants
// (the image has no curl).
func healthcheckCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "URL to ask (default: http://127.0.0.1:<port of METRICS_ADDR>/healthz)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		u, err := healthzURL(getenv("METRICS_ADDR"))
		if err != nil {
			return err
		}
		*target = u
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("unhealthy: --url %q is not a URL: %w", *target, err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // no HTTP_PROXY: the process is local
	resp, err := client.Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("unhealthy: %s did not answer within %s", *target, *timeout)
	}
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", *target, resp.Status)
	}
	fmt.Fprintf(stdout, "nightowl: healthy: %s answered %s\n", *target, resp.Status)
	return nil
}

// healthzURL is where the process with this METRICS_ADDR answers /healthz:
// its own host when it listens on one address, else 127.0.0.1.
func healthzURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("unhealthy: METRICS_ADDR is not set, so nothing serves /healthz: set it (such as :9090) or give --url")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("unhealthy: METRICS_ADDR %q is not host:port, such as :9090", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
