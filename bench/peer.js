// Node web-push (bench/package.json pins 3.6.7) sending the subscriptions in a
// JSON file to a push stand-in: "seq" one after another, or N at once.
//   node bench/peer.js FILE seq|N   ->   {"ok": sent with 201, "seconds": wall time}
// The stand-in's CA comes from NODE_EXTRA_CA_CERTS (bench/peer.py sets it).
const fs = require("fs");
const webpush = require("web-push");

const [, , file, mode] = process.argv;
const job = JSON.parse(fs.readFileSync(file, "utf8"));
const options = {
  vapidDetails: { subject: job.subject, publicKey: job.publicKey, privateKey: job.privateKey },
  TTL: 3600,
  urgency: "normal",
  topic: "unknot-hydration",
};

async function sendAll(subscriptions, lanes) {
  let next = 0;
  let ok = 0;
  async function lane() {
    while (next < subscriptions.length) {
      const sub = subscriptions[next++];
      const res = await webpush.sendNotification(sub, job.payload, options);
      if (res.statusCode === 201) ok++;
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane));
  return ok;
}

async function main() {
  const lanes = mode === "seq" ? 1 : parseInt(mode, 10);
  await sendAll(job.warm, lanes); // JIT, TLS session, keep-alive sockets
  const started = process.hrtime.bigint();
  const ok = await sendAll(job.subscriptions, lanes);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ ok, seconds }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
