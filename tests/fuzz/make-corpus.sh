#!/bin/sh
# Rebuild the seed corpora in tests/fuzz/corpus/ (committed; run this only
# to change them).  CA replies, fixture files and scans are at the end.  Frames and TLV payloads are built from the examples in
# docs/protocol.md section 9; the CSR and the certificate are made with
# the openssl command line (a CSR and a certificate hold no private key;
# the key made for them is deleted at once).
set -eu
cd "$(dirname "$0")/../.."
C=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$C"
mkdir -p "$C"

python3 - "$C" <<'PY'
import os, re, struct, sys, zlib
C = sys.argv[1]
def put(name, fname, data):
    os.makedirs(os.path.join(C, name), exist_ok=True)
    with open(os.path.join(C, name, fname), "wb") as f:
        f.write(data)
def cobs(raw):
    out, block = bytearray(), bytearray()
    for b in raw:
        if b == 0:
            out += bytes([len(block) + 1]) + block; block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += b"\xff" + block; block = bytearray()
    return bytes(out + bytes([len(block) + 1]) + block)
def header(flags, seq, cmd, status, off, total):
    return struct.pack(">BBHBBHH", 1, flags, seq, cmd, status, off, total)
def frame(flags, seq, cmd, status, off, total, payload):
    raw = header(flags, seq, cmd, status, off, total) + payload
    raw += struct.pack("<I", zlib.crc32(raw) & 0xffffffff)
    return b"\0" + cobs(raw) + b"\0"
def tlv(tag, val):
    return struct.pack(">BH", tag, len(val)) + val

doc = open("docs/protocol.md").read()
wires = []
for i, block in enumerate(re.findall(r"```frame\n(.*?)```", doc, re.S)):
    hexes = " ".join(l for l in block.splitlines() if not l.startswith("expect"))
    w = bytes.fromhex(hexes)
    wires.append(w)
    put("frame", "doc-%02d" % i, w)
    put("frame", "doc-%02d-inner" % i, w.strip(b"\0"))
put("frame", "two-frames-and-noise", wires[0] + b"\x11\x22\x33" + wires[1])
put("frame", "decoded-hello", header(0, 1, 1, 0, 0, 9) +
    bytes.fromhex("010001010200021000"))
put("frame", "cobs-254-block", b"\xff" + bytes(range(1, 255)))

hello_req = tlv(1, b"\x01") + tlv(2, b"\x10\x00")
hello_rep = bytes.fromhex("01000101020002010003000653 4e 30 30 30 31 04 00 04 45 56 2d 31 06 00 05 31 2e 32 2e 30 07 00 08 41 54 45 43 43 36 30 38 08 00 04 00 00 00 1d 09 00 01 00")
put("tlv", "hello-request", hello_req)
put("tlv", "hello-reply", hello_rep)
put("tlv", "message", tlv(0x1c, b"no key in slot 0"))
put("tlv", "all-widths", tlv(1, b"\x07") + tlv(2, b"\x01\x02") +
    tlv(8, b"\x00\x00\x00\x1d") + tlv(0x1a, bytes(40)))
put("tlv", "truncated", hello_rep[:-2])
put("dev_info", "hello-reply", hello_rep)
put("dev_info", "minimal", tlv(1, b"\x01") + tlv(2, b"\x01\x00") +
    tlv(3, b"SN1"))
put("dev_info", "unknown-tags", tlv(0x55, b"x") + hello_rep + tlv(3, b"dup"))
put("dev_info", "frame-too-small", tlv(1, b"\x01") + tlv(2, b"\x00\x10") +
    tlv(3, b"SN1"))

# What a port server sends an rfc2217: port (first byte: where the
# harness cuts the input in two).
S2N = bytes.fromhex("fffb03fffd03fffb01fffe01fffd00fffb00fffd2c")
def sb44(cmd, val):
    return b"\xff\xfa\x2c" + bytes([cmd]) + val.replace(b"\xff", b"\xff\xff") + b"\xff\xf0"
put("telnet", "ser2net-opening", b"\x05" + S2N)
put("telnet", "line-answers", b"\x09" + S2N + sb44(102, b"\x08") +
    sb44(103, b"\x01") + sb44(104, b"\x01") + sb44(101, struct.pack(">I", 921600)))
put("telnet", "baud-with-iac", b"\x03" + sb44(101, struct.pack(">I", 65535)))
put("telnet", "data-with-iac", b"\x02ab\xff\xffcd\xff\xff\xff\xffe")
put("telnet", "refusal-44", b"\x01\xff\xfe\x2c")
put("telnet", "garbage-iac", b"\x00\xff\x17\xff\x00")
put("telnet", "endless-sb", b"\x04\xff\xfa\x2c\x65" + b"x" * 80)
# ATTEST's TPM structures (docs/protocol.md 8.18; TPM 2.0 Part 2).
def b2(v):
    return struct.pack(">H", len(v)) + v
tpmt_public = (struct.pack(">HHI", 0x23, 0x0b, 0x00040072) + b2(b"") +
    struct.pack(">HHHHH", 0x10, 0x18, 0x0b, 0x03, 0x10) +
    b2(bytes(range(1, 33))) + b2(bytes(range(33, 65))))
name = b"\x00\x0b" + bytes(32)
tpms_attest = (struct.pack(">IH", 0xff544347, 0x8017) + b2(name) +
    b2(bytes(32)) + struct.pack(">QIIBQ", 1234, 1, 2, 1, 0x20230101) +
    b2(name) + b2(name))
put("attest", "tpms-attest-certify", tpms_attest)
put("attest", "tpmt-public-ecc", tpmt_public)
put("attest", "tpmt-public-ecdaa", tpmt_public[:12] +
    struct.pack(">HHH", 0x1a, 0x0b, 1) + tpmt_public[16:])
put("attest", "truncated", tpms_attest[:40])
put("attest", "oversized-extra", tpms_attest[:42] + b"\xff\xff" +
    tpms_attest[44:])

def rec(flags, seq, cmd, off, total, payload):
    assert len(payload) < 256
    return bytes([len(payload), flags]) + struct.pack(">HBHH", seq, cmd,
        off, total) + payload
def msg(seq, cmd, payload):
    return rec(0, seq, cmd, 0, len(payload), payload)
hello = msg(1, 0x01, hello_req)
keygen = msg(2, 0x10, tlv(0x10, b"\x01") + tlv(0x11, b"\x00"))
csr = msg(3, 0x12, tlv(0x11, b"\x00") +
    tlv(0x13, b"C=US,O=Example-Org,CN=SN0001") +
    tlv(0x14, b"sn0001.example.com") + tlv(0x15, b"urn:dev:SN0001"))
sign = msg(4, 0x13, tlv(0x11, b"\x00") + tlv(0x17, b"\x01") +
    tlv(0x18, bytes(range(32))))
cert = tlv(0x1a, b"\x30\x82\x01\x2c" + bytes(296))
chunks = rec(0, 5, 0x20, 0, len(cert), cert[:242]) + \
    rec(0, 6, 0x20, 242, len(cert), cert[242:])
put("devsim", "provision", b"\x01" + hello + keygen + csr + sign + chunks +
    msg(7, 0x22, b"") + rec(0, 8, 0x7f, 242, 0, b"") +
    msg(9, 0x30, tlv(0x1b, b"\x01")))
put("devsim", "hello-pubkey-retransmit", b"\x01" + hello +
    msg(2, 0x11, tlv(0x11, b"\x00")) + msg(2, 0x11, tlv(0x11, b"\x00")) +
    msg(3, 0x02, b"") + msg(4, 0x40, b""))
put("devsim", "chain-and-reset", b"\x01" + hello +
    msg(2, 0x21, tlv(0x1a, b"\x30\x03\x02\x01\x01") * 3) +
    msg(3, 0x23, b"") + msg(4, 0x31, b"") + rec(0, 5, 0x7f, 100, 0, b""))
put("devsim", "out-of-order-chunk", b"\x03" +
    rec(0, 1, 0x20, 10, 300, bytes(20)))
put("devsim", "raw-doc-frames", b"\x00" + b"".join(wires))
put("devsim", "raw-noise", b"\x00" + bytes(range(256)))
PY

# The CSR and certificate: EC P-256, the subject and SANs the harnesses
# expect.  The key file is removed before this script ends.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$tmp/key.pem" 2>/dev/null
mkdir -p "$C/csr_policy" "$C/cert_check"
openssl req -new -key "$tmp/key.pem" -subj "/C=US/O=Example-Org/CN=SN0001" \
    -addext "subjectAltName=DNS:sn0001.example.com,URI:urn:dev:SN0001" \
    -outform DER -out "$C/csr_policy/ec-p256-good"
openssl req -new -key "$tmp/key.pem" -subj "/CN=SN0001" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=keyCertSign" -outform DER \
    -out "$C/csr_policy/ca-true"
openssl req -x509 -new -key "$tmp/key.pem" -days 365 \
    -subj "/C=US/O=Example-Org/CN=SN0001" \
    -addext "subjectAltName=DNS:sn0001.example.com" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=clientAuth" \
    -outform DER -out "$C/cert_check/leaf"
openssl req -x509 -new -key "$tmp/key.pem" -days 30 -subj "/CN=Other" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -outform DER -out "$C/cert_check/ca-cert"
rm -f "$tmp/key.pem"

mkdir -p "$C/dn" "$C/profile" "$C/config"
printf 'C=US,O=Example-Org,OU=IoT-Device,CN=SN0001' >"$C/dn/full"
printf 'CN=SN0001' >"$C/dn/cn"
printf 'serialNumber=42,DC=example,UID=u1,emailAddress=a@b.c,ST=CA,L=SF' \
    >"$C/dn/all-attributes"
printf 'C=USA,CN=x' >"$C/dn/bad-country"
printf 'CN=caf\303\251' >"$C/dn/utf8"
printf 'C=US,O=Example-Org,CN=${serial}' >"$C/profile/subject"
printf 'urn:example:device:${serial}:${model}@${station}' >"$C/profile/uri"
printf 'factory/selftest/${cn}' >"$C/profile/topic"
printf 'a $ b $${serial} ${serial' >"$C/profile/dollars"
printf 'SN0001' >"$C/profile/serial"
cp fixtures/station.ini "$C/config/station.ini"
printf '[station]\nid = st-9\n' >"$C/config/minimal.ini"
printf '[profile a]\nkey = rsa-2048\nsubject = CN=${serial}\n  continued\n[slot 2]\ndevice = tcp:h:1\nprofile = a\n[slot 1]\ndevice = uart:/dev/ttyUSB0\nprofile = a\n' \
    >"$C/config/slots.ini"
printf '\357\273\277[ca]\nbackend = local\n[ca]\n' >"$C/config/bom-duplicate.ini"
# CA replies, in the shape the test servers send them
# (tests/support/vault_api_server.c, hub_api_server.c; CFSSL's API):
# a root, an intermediate and a device certificate made here (their keys
# are removed with $tmp).
o="openssl"
$o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/r.key" 2>/dev/null
$o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/i.key" 2>/dev/null
$o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/d.key" 2>/dev/null
$o req -x509 -new -key "$tmp/r.key" -days 3650 -subj "/O=Example-Org/CN=Fuzz Root" \
    -addext "basicConstraints=critical,CA:TRUE" -out "$tmp/root.pem"
$o req -new -key "$tmp/i.key" -subj "/O=Example-Org/CN=Fuzz Issuing CA" \
    -out "$tmp/i.csr"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' \
    >"$tmp/i.ext"
$o x509 -req -in "$tmp/i.csr" -CA "$tmp/root.pem" -CAkey "$tmp/r.key" \
    -set_serial 0x1001 -days 1825 -extfile "$tmp/i.ext" -out "$tmp/inter.pem" 2>/dev/null
$o req -new -key "$tmp/d.key" -subj "/C=US/O=Example-Org/CN=SN0001" \
    -out "$tmp/d.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:sn0001.example.com\n' \
    >"$tmp/d.ext"
$o x509 -req -in "$tmp/d.csr" -CA "$tmp/inter.pem" -CAkey "$tmp/i.key" \
    -set_serial 0x0a1b2c3d4e5f60718293 -days 30 -extfile "$tmp/d.ext" \
    -out "$tmp/leaf.pem" 2>/dev/null
$o x509 -in "$tmp/leaf.pem" -outform DER -out "$tmp/leaf.der"
rm -f "$tmp"/*.key
python3 - "$C" "$tmp" <<'PY'
import hashlib, json, os, sys
C, T = sys.argv[1], sys.argv[2]
def put(name, fname, data):
    os.makedirs(os.path.join(C, name), exist_ok=True)
    with open(os.path.join(C, name, fname), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
def j(o):
    return json.dumps(o, separators=(",", ":"))
leaf, inter, root = (open(os.path.join(T, n)).read()
                     for n in ("leaf.pem", "inter.pem", "root.pem"))
der = open(os.path.join(T, "leaf.der"), "rb").read()
serial = "0a:1b:2c:3d:4e:5f:60:71:82:93"

put("ca_vault", "sign", j({"data": {"certificate": leaf, "issuing_ca": inter,
    "ca_chain": [inter, root], "serial_number": serial, "expiration": 0}}))
put("ca_vault", "sign-issuing-ca-only", j({"data": {"certificate": leaf,
    "issuing_ca": inter, "serial_number": serial}}))
put("ca_vault", "sign-other-serial", j({"data": {"certificate": leaf,
    "ca_chain": [inter], "serial_number": "01:02"}}))
put("ca_vault", "sign-chain-not-pem", j({"data": {"certificate": leaf,
    "ca_chain": [inter, 7, "-----BEGIN CERTIFICATE-----\nAA==\n"]}}))
put("ca_vault", "login", j({"auth": {"client_token": "hvs.fuzz-token",
    "lease_duration": 3600, "renewable": True}}))
put("ca_vault", "login-no-lease", j({"auth": {"client_token": "t"}}))
put("ca_vault", "lookup-self", j({"data": {"ttl": 600, "creation_ttl": 3600,
    "renewable": True, "policies": ["default", "station"]}}))
put("ca_vault", "renew-self", j({"auth": {"client_token": "hvs.fuzz-token",
    "lease_duration": 3600, "renewable": True}}))
put("ca_vault", "errors", j({"errors": ["permission denied"]}))
put("ca_vault", "errors-policy", j({"errors": ["1 error occurred:\n\t* "
    "common name SN0001 not allowed by this role\n\n"]}))

put("ca_cfssl", "sign", j({"success": True, "result": {"certificate": leaf},
    "errors": [], "messages": []}))
put("ca_cfssl", "sign-bundle", j({"success": True, "result": {
    "certificate": leaf + inter}, "errors": [], "messages": []}))
put("ca_cfssl", "refused", j({"success": False, "result": None,
    "errors": [{"code": 5300, "message": "Invalid or unknown policy"}],
    "messages": []}))
put("ca_cfssl", "success-false", j({"success": False, "result": {
    "certificate": leaf}}))

fp = ":".join("%02X" % b for b in hashlib.sha256(der).digest())
hub = {"deviceId": "SN0001", "clientCert": leaf, "caCert": inter,
       "brokerUrl": "localhost", "mqttPort": 1883, "mqttSecurePort": 8883,
       "fingerprint": fp, "serialNumber": "0A1B2C3D4E5F60718293",
       "validFrom": "2025-06-15T10:00:00.000Z",
       "validTo": "2026-06-15T10:00:00.000Z"}
put("ca_hub", "sign", j(hub))
put("ca_hub", "sign-sha1", j(dict(hub, fingerprint=hashlib.sha1(der).hexdigest())))
put("ca_hub", "sign-other-device", j(dict(hub, deviceId="SN0002")))
put("ca_hub", "sign-minimal", j({"clientCert": leaf}))
put("ca_hub", "sign-broker-mqtts", j(dict(hub, brokerUrl="mqtts://broker.example/")))
put("ca_hub", "sign-broker-hostile", j(dict(hub, brokerUrl="x;rm -rf /",
    mqttSecurePort=70000)))
put("ca_hub", "refused", j({"statusCode": 400, "message": "Invalid CSR",
    "error": "Bad Request"}))

put("ca_pem_chain", "leaf", leaf)
put("ca_pem_chain", "bundle", leaf + inter + root)
put("ca_pem_chain", "text-around", "issued:\n" + inter + "\nroot follows\n"
    + root + "trailer")
put("ca_pem_chain", "truncated", leaf[:200])
PY

# Fixture files and scans: the shipped fixture, one as
# fixtures/sim-line.sh writes it, and the scans it writes
# ("SERIAL SLOT-LABEL") mixed with the screen's badges and labels.
mkdir -p "$C/fixture" "$C/scan"
cp fixtures/sim-4.ini "$C/fixture/sim-4.ini"
printf '[fixture]\nname = sim-2\n\n[slot 1]\nlabel = S1\ndevice = tcp:127.0.0.1:40001\n\n[slot 2]\nlabel = S2\ndevice = tcp:127.0.0.1:40002\n' \
    >"$C/fixture/sim-line.ini"
printf '[fixture]\nname = bench-A\nhook_timeout_ms = 2500\n[slot 12]\nlabel = BAY-12\ndevice = uart:/dev/ttyUSB0\nprofile = rsa\npower_on = relay on 12\npower_off = relay off 12\nreset = relay pulse 12\n[slot 3]\ndevice = usb:0403:6001:A1\n' \
    >"$C/fixture/hooks-unsorted.ini"
printf '[slot 1]\nlabel = S2\ndevice = tcp:h:1\n[slot 2]\ndevice = tcp:h:2\n' \
    >"$C/fixture/duplicate-label.ini"
printf 'SIM-120000-1 S1\nSIM-120000-2 S2\nSIM-120000-3 BAY-3\nSIM-120000-4 S4\n' \
    >"$C/scan/sim-line"
printf 'SIM-0001 S1\r\nSIM-0002\n\n   \nSIM-0003 S2 extra\nbad/serial\nSIM-0001\n' \
    >"$C/scan/batch-mixed"
printf 'OP:alice\nLOT:L-2025-06\nS2\nSN0001\nSN0002\n!1P\nSN0002\nSN0001\n!0F\nSN0001\nop:bob\nOP:\n' \
    >"$C/scan/screen-session"
printf 'SN1\nSN2\nSN3\nSN4\nBAY-3\n!2P\nBAY-3\nSN4\n' >"$C/scan/all-busy"
echo "corpus: $(find "$C" -type f | wc -l) files, $(du -sb "$C" | cut -f1) bytes"
