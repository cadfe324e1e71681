package slackemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// APIError is a Slack error code, such as "channel_not_found", with the problems Slack
// lists for "invalid_blocks".
type APIError struct {
	Code     string
	Problems []string
}

func (e *APIError) Error() string {
	if len(e.Problems) == 0 {
		return e.Code
	}
	return e.Code + ": " + strings.Join(e.Problems, "; ")
}

func apiErr(code string) *APIError { return &APIError{Code: code} }

// apiRequest is a Web API call, whatever its encoding.
type apiRequest struct {
	token  string
	host   string // the Host the client called, for URLs handed back
	params url.Values
}

func (r *apiRequest) get(key string) string { return r.params.Get(key) }

// apiMethod is one Web API method. handle runs with Server.mu held.
type apiMethod struct {
	appToken bool // needs the xapp token instead of the bot token
	handle   func(s *Server, req *apiRequest) (map[string]any, error)
}

var apiMethods = map[string]apiMethod{
	"apps.connections.open":        {appToken: true, handle: (*Server).connectionsOpen},
	"auth.test":                    {handle: (*Server).authTest},
	"chat.postMessage":             {handle: (*Server).chatPostMessage},
	"chat.update":                  {handle: (*Server).chatUpdate},
	"chat.postEphemeral":           {handle: (*Server).chatPostEphemeral},
	"chat.delete":                  {handle: (*Server).chatDelete},
	"reactions.add":                {handle: (*Server).reactionsAdd},
	"conversations.history":        {handle: (*Server).conversationsHistory},
	"conversations.replies":        {handle: (*Server).conversationsReplies},
	"conversations.info":           {handle: (*Server).conversationsInfo},
	"users.info":                   {handle: (*Server).usersInfo},
	"usergroups.users.list":        {handle: (*Server).usergroupsUsersList},
	"files.getUploadURLExternal":   {handle: (*Server).filesGetUploadURLExternal},
	"files.completeUploadExternal": {handle: (*Server).filesCompleteUploadExternal},
}

// Call is one request the server answered: a Web API method, or "webhook",
// "response_url", "upload".
type Call struct {
	Method string
	At     time.Time
	OK     bool
	Error  string
}

// Calls counts the calls of method so far, failed ones included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// CallLog returns every call so far, oldest first.
func (s *Server) CallLog() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *Server) recordCallLocked(method, errCode string) {
	s.calls = append(s.calls, Call{Method: method, At: s.cfg.Now(), OK: errCode == "", Error: errCode})
	s.log.Debug("call", keyMethod, method, keyError, errCode)
	s.notifyLocked()
}

type rateLimit struct {
	n          int
	retryAfter time.Duration
}

// RateLimit makes the next n calls of method (a Web API method, or "webhook") answer
// HTTP 429 with a Retry-After header of retryAfter, rounded up to whole seconds.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = &rateLimit{n: n, retryAfter: retryAfter}
}

// takeRateLimitLocked uses up one rate-limited answer of method, if any is left.
func (s *Server) takeRateLimitLocked(method string) (retryAfter string, limited bool) {
	l, ok := s.limits[method]
	if !ok || l.n <= 0 {
		return "", false
	}
	l.n--
	return strconv.Itoa(int(math.Ceil(l.retryAfter.Seconds()))), true
}

// reply is an HTTP answer computed under the lock and written after it.
type reply struct {
	status int
	header map[string]string
	body   []byte
}

func (r reply) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

func jsonReply(status int, v any) reply {
	return reply{status: status, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, body: marshal(v)}
}

func textReply(status int, text string) reply {
	return reply{status: status, header: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, body: []byte(text)}
}

// errorBody is Slack's error answer; invalid_blocks lists its problems twice, as Slack does.
func errorBody(e *APIError) map[string]any {
	body := map[string]any{"ok": false, "error": e.Code}
	if len(e.Problems) > 0 {
		msgs := make([]string, len(e.Problems))
		for i, p := range e.Problems {
			msgs[i] = "[ERROR] " + p
		}
		body["errors"] = e.Problems
		body["response_metadata"] = map[string]any{"messages": msgs}
	}
	return body
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("method")
	req, perr := parseAPIRequest(r)
	s.mu.Lock()
	rep := s.callAPILocked(name, req, perr)
	s.mu.Unlock()
	rep.write(w)
}

func (s *Server) callAPILocked(name string, req *apiRequest, perr error) reply {
	method, known := apiMethods[name]
	if !known {
		s.recordCallLocked(name, "unknown_method")
		return jsonReply(http.StatusOK, errorBody(apiErr("unknown_method")))
	}
	if after, limited := s.takeRateLimitLocked(name); limited {
		s.recordCallLocked(name, "ratelimited")
		rep := jsonReply(http.StatusTooManyRequests, errorBody(apiErr("ratelimited")))
		rep.header["Retry-After"] = after
		return rep
	}
	if rep, failed := s.takeFaultLocked(name, req); failed {
		return rep
	}
	var err error
	var res map[string]any
	switch {
	case perr != nil:
		err = apiErr("invalid_form_data")
	case req.token == "":
		err = apiErr("not_authed")
	case method.appToken && req.token != s.cfg.AppToken, !method.appToken && req.token != s.cfg.BotToken:
		err = apiErr("invalid_auth")
		if req.token == s.cfg.AppToken || req.token == s.cfg.BotToken {
			err = apiErr("not_allowed_token_type")
		}
	default:
		res, err = method.handle(s, req)
	}
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			ae = &APIError{Code: "internal_error"}
			s.log.Error("api handler", keyMethod, name, keyError, err)
		}
		s.recordCallLocked(name, ae.Code)
		return jsonReply(http.StatusOK, errorBody(ae))
	}
	s.recordCallLocked(name, "")
	body := map[string]any{"ok": true}
	for k, v := range res {
		body[k] = v
	}
	return jsonReply(http.StatusOK, body)
}

// parseAPIRequest reads a call sent as a form (as slack-go sends most), as multipart,
// as a query string, or as JSON with Authorization: Bearer.
func parseAPIRequest(r *http.Request) (*apiRequest, error) {
	req := &apiRequest{host: r.Host, params: url.Values{}}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		req.token = strings.TrimPrefix(auth, "Bearer ")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 8<<20)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "application/json":
		err = parseJSONParams(r, req.params)
		for k, vs := range r.URL.Query() {
			req.params[k] = append(req.params[k], vs...)
		}
	case "multipart/form-data":
		if err = r.ParseMultipartForm(8 << 20); err == nil {
			req.params = r.Form
		}
	default:
		if err = r.ParseForm(); err == nil {
			req.params = r.Form
		}
	}
	if req.token == "" {
		req.token = req.params.Get("token")
	}
	return req, err
}

// parseJSONParams flattens a JSON body into params; arrays and objects become JSON
// strings, as slack-go sends blocks and attachments in forms.
func parseJSONParams(r *http.Request, params url.Values) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var obj map[string]any
	if err := decodeJSON(data, &obj); err != nil {
		return fmt.Errorf("decode json body: %w", err)
	}
	for k, v := range obj {
		switch v := v.(type) {
		case nil:
		case string:
			params.Set(k, v)
		case json.Number, bool:
			params.Set(k, fmt.Sprint(v))
		default:
			params.Set(k, string(marshal(v)))
		}
	}
	return nil
}
