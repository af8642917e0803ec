"""Signed message ingest for the CLI tests that post from Python threads
(cli_ingest_crash.sh, cli_ingest_suspend.sh): one request with the
connector's HMAC headers, and the test message they both send."""
import hashlib, hmac, json, time


def post(conn, key, secret, body):
    """POSTs body to /api/v1/messages on conn; returns (status, parsed JSON)."""
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).hexdigest()
    conn.request("POST", "/api/v1/messages", body, {"X-Nuanyang-Key": key,
                 "X-Nuanyang-Timestamp": ts, "X-Nuanyang-Signature": "sha256=" + sig,
                 "Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def msg(group, i):
    """Message i of the tests: a street-lamp report in group."""
    return {"id": i, "group": group, "sender": {"id": "u1", "name": "张三"},
            "text": "小区路灯坏了 %s" % i, "time": int(time.time())}
