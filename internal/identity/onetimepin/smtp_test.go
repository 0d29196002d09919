package onetimepin

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeSMTP is a minimal SMTP server that accepts one plaintext message and returns what it got.
func fakeSMTP(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		w := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
		w("220 fake ESMTP")
		var transcript strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				ch <- transcript.String()
				return
			}
			transcript.WriteString(line)
			switch {
			case inData:
				if line == ".\r\n" {
					inData = false
					w("250 queued")
				}
			case strings.HasPrefix(line, "EHLO"), strings.HasPrefix(line, "HELO"):
				w("250-fake")
				w("250 8BITMIME")
			case strings.HasPrefix(line, "DATA"):
				inData = true
				w("354 go ahead")
			case strings.HasPrefix(line, "QUIT"):
				w("221 bye")
				ch <- transcript.String()
				return
			default:
				w("250 ok")
			}
		}
	}()
	return ln.Addr().String(), ch
}

func TestSMTPSenderDelivers(t *testing.T) {
	addr, got := fakeSMTP(t)
	host, port, _ := net.SplitHostPort(addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	s := &SMTPSender{Host: host, Port: p, From: "access@example.com", TLSMode: TLSNone, OrgName: "Example\r\nBcc: evil@example.com"}
	if err := s.SendPIN(context.Background(), "alice@example.com", "123456", time.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	transcript := <-got
	for _, want := range []string{"MAIL FROM:<access@example.com>", "RCPT TO:<alice@example.com>", "Your sign-in code is 123456"} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcript)
		}
	}
	if strings.Contains(transcript, "\nBcc:") {
		t.Errorf("header injection through the organization name:\n%s", transcript)
	}
}

func TestSMTPSenderRequiresSTARTTLSByDefault(t *testing.T) {
	addr, _ := fakeSMTP(t)
	host, port, _ := net.SplitHostPort(addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	s := &SMTPSender{Host: host, Port: p, From: "access@example.com"}
	err := s.SendPIN(context.Background(), "alice@example.com", "123456", time.Now())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("plaintext server accepted without tls: none: %v", err)
	}
}

func TestPINHashing(t *testing.T) {
	pin, err := GeneratePIN()
	if err != nil || len(pin) != PINLength {
		t.Fatalf("pin %q %v", pin, err)
	}
	h := HashPIN("c1", pin)
	if !CheckPIN("c1", pin, h) || CheckPIN("c2", pin, h) || CheckPIN("c1", "x"+pin, h) {
		t.Error("PIN check is not bound to its challenge")
	}
}
