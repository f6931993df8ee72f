package agent

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseResults reads any body: it must not panic, and a batch it takes
// is written and read again to the same batch.
func FuzzParseResults(f *testing.F) {
	for _, body := range []string{
		`{"dropped":0,"results":[` + goodResult + `]}`,
		`{"dropped":3,"results":[{"check":"kim-shop/db","start":"2026-12-03T20:59:58+09:00","ok":false,"latency":"3s","kind":"timeout","error":"no answer"}]}`,
		`{"dropped":0,"results":[{"check":"a","start":"2026-12-03T11:00:00Z","ok":true,"latency":"0s","expires":"2027-02-01T00:00:00.5-07:00"}]}`,
		`{"dropped":17,"results":[]}`,
		`{"results":null}`,
		`{"results":[null]}`,
		`{"results":[{"check":"\u00e9\ufffd","start":"2026-12-03T11:00:00Z","ok":false,"latency":"1h","kind":"dns","evidence":"\u0000"}]}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseResults(body, testNow)
		if err != nil {
			return
		}
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("a batch taken cannot be written: %v", err)
		}
		b2, err := ParseResults(again, testNow)
		if err != nil {
			t.Fatalf("a batch taken, written again, is refused: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("read %+v\nwritten and read again %+v", b, b2)
		}
	})
}
