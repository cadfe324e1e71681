package slackemu

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const writeWait = 10 * time.Second

// conn is one Socket Mode connection. Its reader runs in the HTTP handler goroutine,
// its writer in a goroutine of its own; both count in Server.wg.
type conn struct {
	ws   *websocket.Conn
	done chan struct{}
	once sync.Once

	// Guarded by Server.mu.
	control  [][]byte      // frames to write before any envelope (disconnect)
	draining bool          // sent a disconnect: takes no more envelopes
	wake     chan struct{} // buffered 1: new control frame
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// connectionsOpen answers apps.connections.open with a single-use WebSocket URL on the
// host the client called.
func (s *Server) connectionsOpen(req *apiRequest) (map[string]any, error) {
	ticket := newUUID()
	s.tickets[ticket] = true
	return map[string]any{"url": "ws://" + req.host + "/link/?ticket=" + ticket + "&app_id=" + s.cfg.AppID}, nil
}

var upgrader = websocket.Upgrader{
	// slack-go dials with Origin: https://api.slack.com; the same-origin default would refuse it.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Warn("websocket upgrade", keyError, err)
		return
	}
	ws.SetReadLimit(1 << 20)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	c := &conn{ws: ws, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	s.del.conns = append(s.del.conns, c)
	s.del.peak = max(s.del.peak, len(s.del.conns))
	hello := marshal(map[string]any{
		"type":            "hello",
		"num_connections": s.activeConnsLocked(),
		"debug_info": map[string]any{
			"host": "applink-emulator", "build_number": 1, "approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.cfg.AppID},
	})
	s.wg.Add(1)
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("socket connected", keyRemote, r.RemoteAddr)

	go s.writeLoop(c, hello)
	s.readLoop(c)

	c.close()
	s.mu.Lock()
	s.del.conns = slices.DeleteFunc(s.del.conns, func(x *conn) bool { return x == c })
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("socket closed", keyRemote, r.RemoteAddr)
}

// readLoop reads acks until the socket fails.
func (s *Server) readLoop(c *conn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(data, &ack); err != nil || ack.EnvelopeID == "" {
			s.log.Warn("unreadable frame from app", "bytes", len(data))
			continue
		}
		s.mu.Lock()
		if !s.faults.lostAcks[ack.EnvelopeID] { // DropAfterNextEnvelope (faults.go)
			s.ackLocked(ack.EnvelopeID, ack.Payload)
		}
		s.mu.Unlock()
	}
}

// writeLoop is the connection's only writer: hello, then control frames, envelopes
// and PINGs until the connection closes.
func (s *Server) writeLoop(c *conn, hello []byte) {
	defer s.wg.Done()
	defer c.close()
	write := func(data []byte) error {
		_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		return c.ws.WriteMessage(websocket.TextMessage, data)
	}
	if err := write(hello); err != nil {
		return
	}
	ticker := time.NewTicker(s.cfg.PingInterval)
	defer ticker.Stop()
	pings := 0
	for {
		s.mu.Lock()
		control, env, wait := s.nextFrameLocked(c)
		cut := env != nil && s.takeDropAfterSendLocked(env)
		s.mu.Unlock()
		switch {
		case control != nil:
			if err := write(control); err != nil {
				return
			}
			continue
		case env != nil:
			if err := write(env.frame()); err != nil {
				s.mu.Lock()
				s.requeueLocked(env)
				s.mu.Unlock()
				return
			}
			if cut { // DropAfterNextEnvelope (faults.go)
				return
			}
			continue
		}
		select {
		case <-c.done:
			return
		case <-wait: // nil for a draining connection: blocks forever
		case <-c.wake:
		case <-ticker.C:
			pings++
			if err := c.ws.WriteControl(websocket.PingMessage, []byte(strconv.Itoa(pings)), time.Now().Add(writeWait)); err != nil {
				return
			}
		}
	}
}

func (s *Server) activeConnsLocked() int {
	n := 0
	for _, c := range s.del.conns {
		if !c.draining {
			n++
		}
	}
	return n
}

// Connected is the number of open Socket Mode connections that take envelopes
// (a connection sent a disconnect no longer counts).
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.activeConnsLocked()
}

// PeakConnected is the most Socket Mode connections that were ever open at
// once, draining ones included: one for an app that speaks with one voice.
func (s *Server) PeakConnected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.del.peak
}

// Disconnect sends {"type":"disconnect","reason":reason} on every connection, as Slack
// does before it refreshes a connection ("warning", "refresh_requested") or when Socket
// Mode is switched off ("link_disabled"). Those connections take no more envelopes;
// slack-go closes them and reconnects through apps.connections.open.
func (s *Server) Disconnect(reason string) {
	frame := marshal(map[string]any{
		"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "applink-emulator"},
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.del.conns {
		if c.draining {
			continue
		}
		c.control = append(c.control, frame)
		c.draining = true
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	s.notifyLocked()
}

// DropConnections closes every socket abruptly, without a close frame, as a network
// failure would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.del.allConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
