package app_test

import "github.com/gatehouse/gatehouse/internal/store"

func storeQueryEmail(email string) store.AuthEventQuery { return store.AuthEventQuery{Email: email} }

func storeChangeRevocations() store.Change { return store.Change{Revocations: true} }
