#!/usr/bin/env python3
"""wecom_peer.py - the WeCom side of tests/cli_wecom.sh, written independently
of src/wecom.c: signs and encrypts callbacks as WeCom does, and checks and
decrypts the server's encrypted replies. AES runs in the openssl command.

  wecom_peer.py selftest VECTORS.json
  wecom_peer.py post xml|json TOKEN AESKEY RECEIVE_ID TS NONCE MSGFILE BODYFILE
      writes the envelope to BODYFILE, prints the query string
  wecom_peer.py echo TOKEN AESKEY RECEIVE_ID TS NONCE TEXT   (query for GET)
  wecom_peer.py open TOKEN AESKEY RECEIVE_ID REPLYFILE       prints the plaintext
"""
import base64, hashlib, json, os, re, subprocess, sys, urllib.parse


def key_of(aes):
    return base64.b64decode(aes + "=")


def aes(key, data, decrypt):
    cmd = ["openssl", "enc", "-aes-256-cbc", "-nopad", "-K", key.hex(), "-iv", key[:16].hex()]
    if decrypt:
        cmd.append("-d")
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


def encrypt(aeskey, rid, msg, rnd=None):
    key = key_of(aeskey)
    p = (rnd or os.urandom(16)) + len(msg).to_bytes(4, "big") + msg + rid.encode()
    pad = 32 - len(p) % 32
    return base64.b64encode(aes(key, p + bytes([pad]) * pad, False)).decode()


def decrypt(aeskey, rid, enc):
    p = aes(key_of(aeskey), base64.b64decode(enc), True)
    p = p[: -p[-1]]
    n = int.from_bytes(p[16:20], "big")
    assert p[20 + n :].decode() == rid, "receive_id"
    return p[20 : 20 + n]


def sign(token, ts, nonce, enc):
    return hashlib.sha1("".join(sorted([token, ts, nonce, enc])).encode()).hexdigest()


def query(sig, ts, nonce, **more):
    q = {"msg_signature": sig, "timestamp": ts, "nonce": nonce, **more}
    return urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe="")


def main(a):
    if a[0] == "selftest":
        for v in json.load(open(a[1])):
            assert sign(v["token"], v["timestamp"], v["nonce"], v["encrypt"]) == v["msg_signature"]
            if v["kind"] == "encrypt":
                got = encrypt(v["encoding_aes_key"], v["receive_id"], v["plaintext"].encode(),
                              v["random"].encode())
                assert got == v["encrypt"], v["name"]
            else:
                got = decrypt(v["encoding_aes_key"], v["receive_id"], v["encrypt"])
                assert got.decode() == v["plaintext"], v["name"]
        print("ok")
    elif a[0] == "post":
        fmt, token, aeskey, rid, ts, nonce, msgfile, bodyfile = a[1:9]
        enc = encrypt(aeskey, rid, open(msgfile, "rb").read())
        if fmt == "xml":
            body = "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (rid, enc)
        else:
            body = json.dumps({"encrypt": enc})
        open(bodyfile, "w").write(body)
        print(query(sign(token, ts, nonce, enc), ts, nonce))
    elif a[0] == "echo":
        token, aeskey, rid, ts, nonce, text = a[1:7]
        enc = encrypt(aeskey, rid, text.encode())
        print(query(sign(token, ts, nonce, enc), ts, nonce, echostr=enc))
    elif a[0] == "open":
        token, aeskey, rid, reply = a[1:5]
        body = open(reply, encoding="utf-8").read()
        if body.lstrip().startswith("{"):
            j = json.loads(body)
            enc, sig, ts, nonce = j["encrypt"], j["msgsignature"], str(j["timestamp"]), j["nonce"]
        else:
            f = lambda t: re.search(r"<%s>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</%s>" % (t, t), body).group(1)
            enc, sig, ts, nonce = f("Encrypt"), f("MsgSignature"), f("TimeStamp"), f("Nonce")
        assert sign(token, ts, nonce, enc) == sig, "reply signature"
        sys.stdout.write(decrypt(aeskey, rid, enc).decode())


main(sys.argv[1:])
