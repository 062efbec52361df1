// A real MCP client (the official TypeScript SDK, npm `@modelcontextprotocol/sdk` 1.x) of
// the gateway's aggregated endpoint, run once per call by the Rust test that starts it.
//
//   node aggregate_client.mjs URL TOKEN TOOL ARGUMENTS_JSON [--progress]
//
// Connects to URL over Streamable HTTP with `Authorization: Bearer TOKEN` (a 2025-11-25
// session), lists the tools, calls TOOL with ARGUMENTS_JSON (with an `onprogress`
// callback when --progress is given), ends the session and prints exactly one JSON line:
//   {"protocol_version": v, "session": bool, "tools": [names],
//    "ok": true, "is_error": b, "text": t, "progress": [p, ...]}
//  | {"ok": false, "error": "<what the client saw>", "tools": [...], "progress": [...]}
// Anything else goes to stderr; the exit status is 0 whenever that line was printed.
//
// The SDK is imported from $MCPGW_TEST_NODE_MODULES (a node_modules directory) when set,
// else by the ordinary resolution from this file (NODE_PATH does not apply to ES modules).

import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

async function sdk(module) {
  const modules = process.env.MCPGW_TEST_NODE_MODULES;
  if (modules) {
    const file = path.join(path.resolve(modules), '@modelcontextprotocol', 'sdk', 'dist', 'esm', module);
    return import(pathToFileURL(file).href);
  }
  return import(`@modelcontextprotocol/sdk/${module}`);
}

const [url, token, tool, argumentsJson, ...flags] = process.argv.slice(2);
if (!url || !token || !tool) {
  console.error('usage: aggregate_client.mjs URL TOKEN TOOL ARGUMENTS_JSON [--progress]');
  process.exit(2);
}
const toolArguments = JSON.parse(argumentsJson ?? '{}');
const withProgress = flags.includes('--progress');

const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');

const client = new Client({ name: 'mcpgw-test-ts', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
client.onerror = (error) => console.error('client error:', error);

const out = { tools: [], progress: [] };
try {
  await client.connect(transport);
  out.protocol_version = transport.protocolVersion ?? null;
  out.session = Boolean(transport.sessionId);
  out.tools = (await client.listTools()).tools.map((listed) => listed.name);
  const options = { timeout: 60_000 };
  if (withProgress) {
    options.onprogress = (notification) => out.progress.push(notification.progress);
  }
  const result = await client.callTool({ name: tool, arguments: toolArguments }, undefined, options);
  out.ok = true;
  out.is_error = Boolean(result.isError);
  out.text = (result.content ?? []).map((block) => block.text ?? '').join('');
} catch (error) {
  out.ok = false;
  out.error = String(error?.stack ?? error);
}
try {
  await transport.terminateSession();
  await client.close();
} catch (error) {
  console.error('closing:', error);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
