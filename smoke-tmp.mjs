import { startGitServer, ensureBaseImage } from "@slipway/test";
const base = await ensureBaseImage({ dockerHost: "unix:///tmp/smoke/docker.sock", registry: "127.0.0.1:5000" });
const git = await startGitServer({ root: "/tmp/smoke-git" });
await git.createRepo("acme/hello");
const { commit } = await git.commitAndPush("acme/hello", { Dockerfile: `FROM ${base}\nARG SOURCE_BRANCH\nRUN echo "hello from $SOURCE_BRANCH" > /msg\nCMD ["cat", "/msg"]\n` });
console.log(JSON.stringify({ url: git.url("acme/hello"), commit }));
setTimeout(() => git.close(), 120_000);
