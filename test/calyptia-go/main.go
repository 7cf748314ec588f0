// Command calyptiago replays, against Keyward, how Calyptia Cloud's Go client talks to the project-token
// API: the same request shapes (UpdateToken always sends both fields, null for "unchanged"), the same
// error decoding ({"error": string, "detail": *string}) and the same paging (`last` + `before`, the next
// cursor read from the `Link: <…?before=…>; rel="next"` header). Standard library only.
//
// Usage: KEYWARD_URL=http://127.0.0.1:8080 KEYWARD_TOKEN=… PROJECT_ID=… go run .
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Token is the client's token model.
type Token struct {
	ID          string    `json:"id"`
	Token       string    `json:"token"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	ProjectID   string    `json:"projectID"`
	CreatedAt   time.Time `json:"createdAt"`
}

// CreateToken is the create request body.
type CreateToken struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

// UpdateToken is the update request body: both fields are always sent, null when unset.
type UpdateToken struct {
	TokenID     string    `json:"-"`
	Name        *string   `json:"name"`
	Permissions *[]string `json:"permissions"`
}

// TokensParams are the list query parameters.
type TokensParams struct {
	Last   *uint64
	Before *string
	Name   *string
}

// Tokens is one page and the cursor of the next one.
type Tokens struct {
	Items     []Token
	EndCursor *string
}

// Error is how the client decodes every error body.
type Error struct {
	Msg    string  `json:"error"`
	Detail *string `json:"detail"`
}

func (e *Error) Error() string {
	if e.Detail != nil {
		return e.Msg + ": " + *e.Detail
	}
	return e.Msg
}

// Client talks to the API with a bearer token.
type Client struct {
	BaseURL string
	Bearer  string
	HTTP    *http.Client
}

func (c *Client) do(ctx context.Context, method, path string, in, out interface{}, cursor **string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Authorization", "Bearer "+c.Bearer)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		e := &Error{}
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			return fmt.Errorf("could not json decode error response: %w", err)
		}
		return e
	}
	if link := resp.Header.Get("Link"); link != "" && cursor != nil {
		before, err := nextLinkBefore(link)
		if err != nil {
			return err
		}
		if before != "" {
			*cursor = &before
		}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("could not json decode response: %w", err)
		}
	}
	return nil
}

// nextLinkBefore finds the rel="next" link of a Link header and returns its `before` query parameter.
func nextLinkBefore(header string) (string, error) {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "<") || !strings.Contains(part, ">") {
			continue
		}
		end := strings.Index(part, ">")
		uri, params := part[1:end], strings.Split(part[end+1:], ";")
		next := false
		for _, p := range params {
			p = strings.TrimSpace(p)
			if strings.EqualFold(p, `rel="next"`) || strings.EqualFold(p, "rel=next") {
				next = true
			}
		}
		if !next {
			continue
		}
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("could not parse link header uri: %w", err)
		}
		if u.Query().Has("before") {
			return u.Query().Get("before"), nil
		}
	}
	return "", nil
}

func (c *Client) CreateToken(ctx context.Context, projectID string, in CreateToken) (Token, error) {
	var out Token
	return out, c.do(ctx, http.MethodPost, "/v1/projects/"+url.PathEscape(projectID)+"/tokens", in, &out, nil)
}

func (c *Client) Tokens(ctx context.Context, projectID string, params TokensParams) (Tokens, error) {
	q := url.Values{}
	if params.Last != nil {
		q.Set("last", strconv.FormatUint(*params.Last, 10))
	}
	if params.Before != nil {
		q.Set("before", *params.Before)
	}
	if params.Name != nil {
		q.Set("name", *params.Name)
	}
	var out Tokens
	path := "/v1/projects/" + url.PathEscape(projectID) + "/tokens?" + q.Encode()
	return out, c.do(ctx, http.MethodGet, path, nil, &out.Items, &out.EndCursor)
}

func (c *Client) Token(ctx context.Context, tokenID string) (Token, error) {
	var out Token
	return out, c.do(ctx, http.MethodGet, "/v1/project_tokens/"+url.PathEscape(tokenID), nil, &out, nil)
}

func (c *Client) UpdateToken(ctx context.Context, in UpdateToken) error {
	return c.do(ctx, http.MethodPatch, "/v1/project_tokens/"+url.PathEscape(in.TokenID), in, nil, nil)
}

func (c *Client) DeleteToken(ctx context.Context, tokenID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/project_tokens/"+url.PathEscape(tokenID), nil, nil, nil)
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func ok(step string) { fmt.Println("ok", step) }

func apiError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func main() {
	ctx := context.Background()
	c := &Client{BaseURL: os.Getenv("KEYWARD_URL"), Bearer: os.Getenv("KEYWARD_TOKEN"), HTTP: &http.Client{Timeout: 30 * time.Second}}
	project := os.Getenv("PROJECT_ID")
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)

	// CreateToken: the answer decodes into the client's Token, projectID included.
	var made []Token
	for i := 0; i < 5; i++ {
		t, err := c.CreateToken(ctx, project, CreateToken{Name: fmt.Sprintf("go-%s-%d", stamp, i), Permissions: []string{"read:*"}})
		if err != nil {
			fail("CreateToken: %v", err)
		}
		if t.ProjectID != project || !strings.HasPrefix(t.Token, "kw_") || t.CreatedAt.IsZero() {
			fail("CreateToken answered %+v", t)
		}
		made = append(made, t)
	}
	ok("CreateToken")

	// Tokens: last + before, the cursor taken from the Link header, until there is none.
	last := uint64(2)
	seen := map[string]bool{}
	pages := 0
	params := TokensParams{Last: &last}
	for {
		page, err := c.Tokens(ctx, project, params)
		if err != nil {
			fail("Tokens: %v", err)
		}
		pages++
		for _, t := range page.Items {
			if seen[t.ID] {
				fail("Tokens: %s seen twice", t.ID)
			}
			if t.ProjectID != project {
				fail("Tokens: projectID %q", t.ProjectID)
			}
			seen[t.ID] = true
		}
		if page.EndCursor == nil || pages > 100 {
			break
		}
		params.Before = page.EndCursor
	}
	for _, t := range made {
		if !seen[t.ID] {
			fail("Tokens: paging never reached %s", t.ID)
		}
	}
	if pages < 3 {
		fail("Tokens: %d pages of 2 for at least 5 tokens", pages)
	}
	ok(fmt.Sprintf("Tokens (%d pages)", pages))

	// Token by id.
	got, err := c.Token(ctx, made[0].ID)
	if err != nil || got.Name != made[0].Name {
		fail("Token: %v %+v", err, got)
	}
	ok("Token")

	// UpdateToken sends both fields; null leaves a field unchanged.
	name := "go-renamed-" + stamp
	if err := c.UpdateToken(ctx, UpdateToken{TokenID: made[0].ID, Name: &name}); err != nil {
		fail("UpdateToken(name, null): %v", err)
	}
	got, _ = c.Token(ctx, made[0].ID)
	if got.Name != name || strings.Join(got.Permissions, ",") != "read:*" {
		fail("UpdateToken(name, null) left %+v", got)
	}
	empty := []string{}
	if err := c.UpdateToken(ctx, UpdateToken{TokenID: made[0].ID, Permissions: &empty}); err != nil {
		fail("UpdateToken(null, []): %v", err)
	}
	got, _ = c.Token(ctx, made[0].ID)
	if got.Name != name || strings.Join(got.Permissions, ",") != "create:*,read:*,update:*,delete:*" {
		fail("UpdateToken(null, []) left %+v", got)
	}
	ok("UpdateToken")

	// Errors decode as the client's Error, message and detail.
	if e := apiError(func() error { _, err := c.Token(ctx, "123e4567-e89b-12d3-a456-426614174000"); return err }()); e == nil || e.Msg != "Token not found" {
		fail("Token(unknown): want *Error \"Token not found\", got %v", e)
	}
	if e := apiError(func() error {
		_, err := c.CreateToken(ctx, project, CreateToken{Name: made[1].Name, Permissions: []string{"read:*"}})
		return err
	}()); e == nil || !strings.Contains(e.Msg, "already exists") {
		fail("CreateToken(taken name): want a 409 *Error, got %v", e)
	}
	if e := apiError(func() error {
		_, err := c.CreateToken(ctx, project, CreateToken{Name: "x", Permissions: []string{"root"}})
		return err
	}()); e == nil || e.Detail == nil || !strings.Contains(*e.Detail, "permissions") {
		fail("CreateToken(bad permission): want a 400 *Error with detail, got %v", e)
	}
	bad := &Client{BaseURL: c.BaseURL, Bearer: "kw_not-a-token", HTTP: c.HTTP}
	if e := apiError(func() error { _, err := bad.Tokens(ctx, project, TokensParams{}); return err }()); e == nil || e.Msg == "" {
		fail("Tokens(bad token): want a 401 *Error, got %v", e)
	}
	ok("errors")

	// DeleteToken, then the token is gone.
	if err := c.DeleteToken(ctx, made[0].ID); err != nil {
		fail("DeleteToken: %v", err)
	}
	if e := apiError(func() error { _, err := c.Token(ctx, made[0].ID); return err }()); e == nil {
		fail("Token after DeleteToken: want *Error, got %v", e)
	}
	ok("DeleteToken")
	fmt.Println("PASS")
}
