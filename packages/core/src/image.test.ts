import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dockerHubBuildEnv, imageName, parseImageReference, registryOfAddress } from "./image.js";

describe("imageName", () => {
  const cases: [string, string, string, string][] = [
    ["127.0.0.1:5000", "acme", "hello", "127.0.0.1:5000/acme/hello"],
    ["docker.io", "acme", "hello", "docker.io/acme/hello"],
    ["index.docker.io", "acme", "hello", "docker.io/acme/hello"],
    ["https://index.docker.io/", "acme", "hello", "docker.io/acme/hello"],
    ["http://registry.local:5000/", "group/sub", "app", "registry.local:5000/group/sub/app"],
    ["ghcr.io", "acme", "hello", "ghcr.io/acme/hello"],
  ];
  for (const [registry, namespace, name, expected] of cases) {
    it(`${registry} ${namespace}/${name} → ${expected}`, () => assert.equal(imageName(registry, namespace, name), expected));
  }
});

describe("dockerHubBuildEnv", () => {
  const base = {
    commit: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    commitMessage: "Initial commit",
    image: "127.0.0.1:5000/acme/hello",
    dockerfile: "docker/Dockerfile",
    tag: "latest",
  };

  it("a branch", () => {
    assert.deepEqual(dockerHubBuildEnv({ ...base, sourceType: "branch", sourceName: "feature/x" }), {
      SOURCE_BRANCH: "feature/x",
      SOURCE_COMMIT: base.commit,
      COMMIT_MSG: "Initial commit",
      DOCKER_REPO: "127.0.0.1:5000/acme/hello",
      DOCKERFILE_PATH: "docker/Dockerfile",
      DOCKER_TAG: "latest",
      IMAGE_NAME: "127.0.0.1:5000/acme/hello:latest",
    });
  });

  it("a tag: SOURCE_BRANCH holds the tag name, as on Docker Hub", () => {
    const env = dockerHubBuildEnv({ ...base, sourceType: "tag", sourceName: "v1.2.3", tag: "1.2.3" });
    assert.equal(env.SOURCE_BRANCH, "v1.2.3");
    assert.equal(env.DOCKER_TAG, "1.2.3");
    assert.equal(env.IMAGE_NAME, "127.0.0.1:5000/acme/hello:1.2.3");
  });

  it("an image passed with a tag keeps the registry port and drops the tag", () => {
    const env = dockerHubBuildEnv({ ...base, sourceType: "branch", sourceName: "main", image: "127.0.0.1:5000/acme/hello:old" });
    assert.equal(env.DOCKER_REPO, "127.0.0.1:5000/acme/hello");
    assert.equal(env.IMAGE_NAME, "127.0.0.1:5000/acme/hello:latest");
  });
});

describe("parseImageReference", () => {
  const cases: Array<[string, ReturnType<typeof parseImageReference>]> = [
    ["alpine", { repository: "docker.io/library/alpine", registry: "docker.io" }],
    ["alpine:3.20", { repository: "docker.io/library/alpine", registry: "docker.io", tag: "3.20" }],
    ["acme/hello:latest", { repository: "docker.io/acme/hello", registry: "docker.io", tag: "latest" }],
    ["index.docker.io/acme/hello", { repository: "docker.io/acme/hello", registry: "docker.io" }],
    ["127.0.0.1:5000/acme/hello:v1", { repository: "127.0.0.1:5000/acme/hello", registry: "127.0.0.1:5000", tag: "v1" }],
    ["127.0.0.1:5000/acme/team/hello", { repository: "127.0.0.1:5000/acme/team/hello", registry: "127.0.0.1:5000" }],
    ["localhost/hello", { repository: "localhost/hello", registry: "localhost" }],
    [
      `registry.example.com/hello@sha256:${"a".repeat(64)}`,
      { repository: "registry.example.com/hello", registry: "registry.example.com", digest: `sha256:${"a".repeat(64)}` },
    ],
  ];
  for (const [ref, expected] of cases) {
    it(`reads ${ref}`, () => assert.deepEqual(parseImageReference(ref), expected));
  }
  it("tells registry addresses the way credentials name them", () => {
    assert.equal(registryOfAddress("https://index.docker.io/v1/"), "docker.io");
    assert.equal(registryOfAddress("127.0.0.1:5000"), "127.0.0.1:5000");
    assert.equal(registryOfAddress("registry.example.com/some/path"), "registry.example.com");
  });
});
