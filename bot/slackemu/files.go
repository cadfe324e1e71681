package slackemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// file is an uploaded file (files upload v2: get URL, POST bytes, complete).
type file struct {
	id          string
	name        string
	title       string
	altTxt      string
	snippetType string
	mimetype    string
	filetype    string
	length      int
	created     int64
	data        []byte
	uploaded    bool
}

// File returns an uploaded file's name and bytes.
func (s *Server) File(id string) (name string, data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, found := s.ws.files[id]
	if !found || !f.uploaded {
		return "", nil, false
	}
	return f.name, bytes.Clone(f.data), true
}

// filesGetUploadURLExternal hands out an upload URL on the host the client called:
// slack-go refuses to send its token anywhere else.
func (s *Server) filesGetUploadURLExternal(req *apiRequest) (map[string]any, error) {
	name := req.get("filename")
	length, err := strconv.Atoi(req.get("length"))
	if name == "" || err != nil || length <= 0 {
		return nil, apiErr("invalid_arguments")
	}
	mt, ft := mimeOf(name)
	f := &file{
		id: newFileID(), name: name, title: name, altTxt: req.get("alt_txt"), snippetType: req.get("snippet_type"),
		mimetype: mt, filetype: ft, length: length, created: s.cfg.Now().Unix(),
	}
	s.ws.files[f.id] = f
	return map[string]any{"upload_url": "http://" + req.host + "/upload/" + f.id, "file_id": f.id}, nil
}

// serveUpload stores the bytes POSTed to an upload URL, as multipart field "file" or raw.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	data, err := readUpload(r)
	s.mu.Lock()
	var rep reply
	f, ok := s.ws.files[r.PathValue("id")]
	switch {
	case !ok:
		s.recordCallLocked("upload", "file_not_found")
		rep = textReply(http.StatusNotFound, "file_not_found")
	case err != nil:
		s.recordCallLocked("upload", "invalid_upload")
		rep = textReply(http.StatusBadRequest, "invalid_upload")
	default:
		f.data, f.uploaded = data, true
		s.recordCallLocked("upload", "")
		rep = textReply(http.StatusOK, fmt.Sprintf("OK - %d", len(data)))
	}
	s.mu.Unlock()
	rep.write(w)
}

func readUpload(r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 256<<20)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return io.ReadAll(r.Body)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("multipart upload without a file field: %w", err)
		}
		if part.FormName() == "file" {
			return io.ReadAll(part)
		}
	}
}

// filesCompleteUploadExternal finishes uploads and shares them in a channel or thread
// as one file_share message, echoed to the app as an event.
func (s *Server) filesCompleteUploadExternal(req *apiRequest) (map[string]any, error) {
	var refs []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(req.get("files")), &refs); err != nil || len(refs) == 0 {
		return nil, apiErr("invalid_arguments")
	}
	var files []*file
	summary := make([]map[string]any, 0, len(refs))
	for _, ref := range refs {
		f, ok := s.ws.files[ref.ID]
		if !ok || !f.uploaded {
			return nil, apiErr("file_not_found")
		}
		files = append(files, f)
	}
	for i, ref := range refs {
		if ref.Title != "" {
			files[i].title = ref.Title
		}
		summary = append(summary, map[string]any{"id": files[i].id, "title": files[i].title})
	}
	target := req.get("channel_id")
	if target == "" {
		target, _, _ = strings.Cut(req.get("channels"), ",")
	}
	if target == "" {
		return map[string]any{"files": summary}, nil // uploaded privately, shared nowhere
	}
	ch := s.ws.channel(target)
	if ch == nil {
		return nil, apiErr("channel_not_found")
	}
	var text *string
	var blocks []byte
	if c := req.get("initial_comment"); c != "" {
		text = &c
	} else if req.params.Has("blocks") {
		blocks = []byte(req.get("blocks"))
	}
	body, err := parseContent(text, blocks, nil)
	if err != nil {
		return nil, err
	}
	if _, err := s.postLocked(post{
		channel: ch, threadTS: req.get("thread_ts"), from: s.appAuthorLocked(), body: body,
		files: files, subtype: "file_share",
	}); err != nil {
		return nil, err
	}
	return map[string]any{"files": summary}, nil
}

// serveFileDownload serves url_private with the bot token, as Slack's file hosts do.
func (s *Server) serveFileDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.ws.files[r.PathValue("id")]
	authorized := r.Header.Get("Authorization") == "Bearer "+s.cfg.BotToken
	var data []byte
	var mimetype string
	if ok && f.uploaded {
		data, mimetype = f.data, f.mimetype
	}
	s.mu.Unlock()
	switch {
	case !authorized:
		http.Error(w, "not_authed", http.StatusForbidden)
	case data == nil:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", mimetype)
		_, _ = w.Write(data)
	}
}
