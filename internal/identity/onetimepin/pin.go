// Package onetimepin owns the e-mail one-time PIN login method: PIN generation and hashing, and
// the senders that deliver a PIN (SMTP, or the log for demos and tests). The login flow around it
// (forms, attempts, rate limits) lives in package authn.
package onetimepin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Validity is how long a PIN can be used (Cloudflare: 10 minutes).
const Validity = 10 * time.Minute

// PINLength is the number of digits in a PIN.
const PINLength = 6

// GeneratePIN returns a uniformly random decimal PIN.
func GeneratePIN() (string, error) {
	max := big.NewInt(1_000_000)
	n, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", fmt.Errorf("generate pin: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// HashPIN binds a PIN to its challenge ID so stored hashes cannot be reused across challenges.
func HashPIN(challengeID, pin string) string {
	h := sha256.Sum256([]byte("gatehouse-pin\x00" + challengeID + "\x00" + strings.TrimSpace(pin)))
	return hex.EncodeToString(h[:])
}

// CheckPIN compares a submitted PIN with a stored hash in constant time.
func CheckPIN(challengeID, pin, storedHash string) bool {
	got := HashPIN(challengeID, pin)
	return subtle.ConstantTimeCompare([]byte(got), []byte(storedHash)) == 1
}

// Sender delivers a PIN to an address.
type Sender interface {
	SendPIN(ctx context.Context, to, pin string, expires time.Time) error
}

// LogSender writes PINs to the log. It is what `gatehouse demo` and tests use; Gatehouse warns at
// start when a onetimepin provider has no SMTP settings.
type LogSender struct{ Log *slog.Logger }

// SendPIN implements Sender.
func (s LogSender) SendPIN(ctx context.Context, to, pin string, expires time.Time) error {
	s.Log.LogAttrs(ctx, slog.LevelWarn, "one-time PIN (no SMTP configured: PIN written to the log)",
		slog.String("email", to), slog.String("pin", pin), slog.Time("expires", expires))
	return nil
}

// SMTP TLS modes.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// SMTPSender sends PINs through an SMTP relay.
type SMTPSender struct {
	Host     string
	Port     int
	From     string
	TLSMode  string // starttls (default), tls, none
	Username string
	Password string
	OrgName  string
	Timeout  time.Duration
	// RootCAs overrides the system roots (tests).
	TLSConfig *tls.Config
}

// SendPIN implements Sender.
func (s *SMTPSender) SendPIN(ctx context.Context, to, pin string, expires time.Time) error {
	if _, err := mail.ParseAddress(to); err != nil {
		return fmt.Errorf("smtp: invalid recipient: %w", err)
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	tlsConf := s.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	var conn net.Conn
	var err error
	d := &net.Dialer{}
	if s.TLSMode == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: handshake: %w", err)
	}
	defer c.Close()
	if s.TLSMode == "" || s.TLSMode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("smtp: server does not offer STARTTLS (set tls: none to allow plaintext)")
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp: RCPT TO: %w", err)
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := wc.Write(s.message(to, pin, expires)); err != nil {
		return fmt.Errorf("smtp: write: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("smtp: end data: %w", err)
	}
	return c.Quit()
}

func (s *SMTPSender) message(to, pin string, expires time.Time) []byte {
	org := s.OrgName
	if org == "" {
		org = "Gatehouse"
	}
	org = strings.NewReplacer("\r", "", "\n", "").Replace(org)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: Your %s sign-in code\r\n", s.From, to, org)
	fmt.Fprintf(&b, "Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Your sign-in code is %s\r\n\r\nIt is valid until %s and can be used once.\r\nIf you did not ask for it, ignore this message.\r\n", pin, expires.UTC().Format("15:04 MST"))
	return []byte(b.String())
}
