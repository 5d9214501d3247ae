import assert from "node:assert/strict";
import { BlockList, isIP } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkWebhookUrl, classifyAddress, parseIpv6, refusedAddress, type AddressKind } from "./webhook-target.js";

describe("classifyAddress", () => {
  const cases: [string, AddressKind | undefined][] = [
    ["8.8.8.8", "public"],
    ["1.1.1.1", "public"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["169.254.0.1", "link_local"],
    ["169.254.169.254", "metadata"],
    ["169.254.170.2", "metadata"],
    ["100.100.100.200", "metadata"],
    ["192.0.0.192", "metadata"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["172.15.0.1", "public"],
    ["192.168.1.10", "private"],
    ["100.64.0.1", "private"],
    ["100.128.0.1", "public"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["[::1]", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "metadata"],
    ["::ffff:a9fe:a9fe", "metadata"],
    ["::127.0.0.1", "loopback"],
    ["::ffff:8.8.8.8", "public"],
    ["fe80::1", "link_local"],
    ["fe80::1%eth0", "link_local"],
    ["febf::1", "link_local"],
    ["fec0::1", "private"],
    ["fd00:ec2::254", "metadata"],
    ["FD00:EC2:0:0:0:0:0:254", "metadata"],
    ["fd12:3456::1", "private"],
    ["fc00::1", "private"],
    ["ff02::1", "multicast"],
    ["168.63.129.16", "metadata"],
    ["::ffff:168.63.129.16", "metadata"],
    // SIIT's IPv4-translated addresses (::ffff:0:0:0/96).
    ["::ffff:0:7f00:1", "loopback"],
    ["::ffff:0:a9fe:a9fe", "metadata"],
    ["::ffff:0:808:808", "public"],
    // NAT64's well-known prefix (64:ff9b::/96).
    ["64:ff9b::a9fe:a9fe", "metadata"],
    ["64:ff9b::169.254.169.254", "metadata"],
    ["64:ff9b::a9fe:1", "link_local"],
    ["64:ff9b::7f00:1", "loopback"],
    ["64:ff9b::a00:1", "private"],
    ["64:ff9b::a83f:8110", "metadata"],
    ["64:ff9b::808:808", "public"],
    ["64:ff9b:0:0:1::808:808", "public"],
    // The local-use NAT64 prefix (64:ff9b:1::/48), in each of RFC 6052's layouts.
    ["64:ff9b:1::a9fe:a9fe", "metadata"],
    ["64:ff9b:1:a9fe:a9:fe00::", "metadata"],
    ["64:ff9b:1:a9:fe:a9fe::", "metadata"],
    ["64:ff9b:1:0:a9:fea9:fe00:0", "metadata"],
    ["64:ff9b:1:7f00:0:100::", "loopback"],
    ["64:ff9b:1::7f00:1", "loopback"],
    ["64:ff9b:1:1234:5678::a00:1", "private"],
    ["64:ff9b:1::808:808", "public"],
    // 6to4 (2002::/16).
    ["2002:a9fe:a9fe::1", "metadata"],
    ["2002:a83f:8110::", "metadata"],
    ["2002:7f00:1::", "loopback"],
    ["2002:c0a8:101::1", "private"],
    ["2002:808:808::1", "public"],
    ["2001:4860:4860::8888", "public"],
    ["2606:4700::1111", "public"],
    // Not IP addresses.
    ["localhost", undefined],
    ["example.com", undefined],
    ["127.1", undefined],
    ["0x7f.0.0.1", undefined],
    ["01.2.3.4", undefined],
    ["256.1.1.1", undefined],
    ["1.2.3.4.5", undefined],
    ["::1::", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1::2::3", undefined],
    ["12345::1", undefined],
    ["::ffff:1.2.3", undefined],
    ["1.2.3.4::", undefined],
    ["", undefined],
  ];
  for (const [address, kind] of cases) {
    it(`${JSON.stringify(address)} → ${kind}`, () => assert.equal(classifyAddress(address), kind));
  }

  it("parses IPv6 text exactly when node does, to the same address", () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const groups = parseIpv6(text);
        assert.ok(groups, `${text} did not parse`);
        assert.equal(groups.length, 8);
        // The same address, written out in full, is what node reads from the text.
        const full = groups.map((g) => g.toString(16)).join(":");
        const list = new BlockList();
        list.addAddress(text, "ipv6");
        return list.check(full, "ipv6");
      }),
    );
    for (const text of ["::1::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "::ffff:1.2.3", "g::1", ":1::", "1:2:3:4:5:6:7::8:9"]) {
      assert.equal(parseIpv6(text) === undefined, isIP(text) === 0, text);
    }
  });

  it("agrees with node on which strings are IPv4 addresses", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.string()), (text) => {
        const ours = classifyAddress(text) !== undefined && !text.includes(":");
        return ours === (isIP(text) === 4);
      }),
    );
  });
});

describe("refusedAddress", () => {
  const cases: [string, boolean, boolean][] = [
    // address, allowPrivate, refused
    ["8.8.8.8", false, false],
    ["10.0.0.5", false, true],
    ["10.0.0.5", true, false],
    ["172.20.1.1", false, true],
    ["192.168.1.20", false, true],
    ["100.64.0.9", false, true],
    ["fd12:3456::1", false, true],
    ["fd12:3456::1", true, false],
    ["64:ff9b::a00:5", false, true],
    ["64:ff9b::a00:5", true, false],
    ["64:ff9b::a9fe:a9fe", true, true],
    ["2002:a9fe:a9fe::", true, true],
    ["::ffff:0:a9fe:a9fe", true, true],
    ["168.63.129.16", true, true],
    ["127.0.0.1", false, true],
    ["127.0.0.1", true, false],
    ["::1", false, true],
    ["::1", true, false],
    ["169.254.1.1", false, true],
    ["169.254.1.1", true, false],
    ["0.0.0.0", false, true],
    ["169.254.169.254", true, true],
    ["fd00:ec2::254", true, true],
    ["224.0.0.1", true, true],
    ["not-an-ip", true, true],
  ];
  for (const [address, allowPrivate, refused] of cases) {
    it(`${address}, allowPrivate ${allowPrivate} → ${refused ? "refused" : "allowed"}`, () => {
      assert.equal(refusedAddress(address, { allowPrivate }) !== undefined, refused);
    });
  }

  it("names the setting that allows a refused private target", () => {
    assert.equal(
      refusedAddress("127.0.0.1", { allowPrivate: false }),
      "127.0.0.1 is a loopback address (the operator may allow such targets: SLIPWAY_WEBHOOK_ALLOW_PRIVATE=true)",
    );
  });
});

describe("checkWebhookUrl", () => {
  const strict = { allowPrivate: false };
  const cases: [string, boolean, RegExp | null][] = [
    ["https://hooks.example.com/slipway", true, null],
    ["http://ci.lan:8080/generic-webhook-trigger/invoke?token=abc", true, null],
    ["http://192.168.1.20/hook", false, /192\.168\.1\.20 is a private address.*SLIPWAY_WEBHOOK_ALLOW_PRIVATE=true/],
    ["http://10.0.0.5:8080/hook", false, /private/],
    ["http://[fd00::5]/hook", false, /private/],
    ["http://[64:ff9b::a9fe:a9fe]/", false, /metadata/],
    ["http://[2002:7f00:1::]/", false, /loopback/],
    // Names are resolved and checked when sending.
    ["http://localhost:9000/", true, null],
    ["http://127.0.0.1:9000/", false, /loopback/],
    ["http://[::1]:9000/", false, /loopback/],
    ["http://[::ffff:127.0.0.1]/", false, /loopback/],
    ["http://2130706433/", false, /loopback/],
    ["http://0x7f.1/", false, /loopback/],
    ["http://0.0.0.0/", false, /unspecified/],
    ["http://169.254.169.254/latest/meta-data/", false, /metadata/],
    ["http://[fd00:ec2::254]/", false, /metadata/],
    ["http://metadata.google.internal/computeMetadata/v1/", false, /metadata/],
    ["http://METADATA.GOOGLE.INTERNAL./", false, /metadata/],
    ["ftp://example.com/", false, /not http or https \(ftp:\)/],
    ["file:///etc/passwd", false, /not http or https/],
    ["https://user:pass@example.com/", false, /credentials/],
    ["not a url", false, /not a URL/],
  ];
  for (const [url, ok, reason] of cases) {
    it(`${url} → ${ok ? "ok" : "refused"}`, () => {
      const check = checkWebhookUrl(url, strict);
      assert.equal(check.ok, ok, JSON.stringify(check));
      if (!check.ok && reason) assert.match(check.reason, reason);
    });
  }

  it("allows private and loopback literals when the operator allows private targets, never metadata", () => {
    assert.equal(checkWebhookUrl("http://192.168.1.20/hook", { allowPrivate: true }).ok, true);
    assert.equal(checkWebhookUrl("http://127.0.0.1:9000/", { allowPrivate: true }).ok, true);
    assert.equal(checkWebhookUrl("http://[::1]:9000/", { allowPrivate: true }).ok, true);
    assert.equal(checkWebhookUrl("http://169.254.169.254/", { allowPrivate: true }).ok, false);
    assert.equal(checkWebhookUrl("http://[64:ff9b::a9fe:a9fe]/", { allowPrivate: true }).ok, false);
    assert.equal(checkWebhookUrl("http://metadata.google.internal/", { allowPrivate: true }).ok, false);
  });
});
