package criteria

import "errors"

// ServiceToken returns the service_token selector: a valid service token with ID tokenID was
// presented. The caller checks that the token exists.
func ServiceToken(tokenID string) (Criterion, error) {
	if tokenID == "" {
		return Criterion{}, errors.New("token_id is required")
	}
	return Criterion{kind: KindServiceToken, value: tokenID}, nil
}

// AnyValidServiceToken returns the any_valid_service_token selector.
func AnyValidServiceToken() Criterion { return Criterion{kind: KindAnyValidServiceToken} }
