package testreceiver

import (
	"encoding/base64"
	"encoding/json"
)

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
