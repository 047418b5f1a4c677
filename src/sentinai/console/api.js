// The console talks to the API exactly as any frontend would: POST /graphql for reads and
// writes, graphql-transport-ws on the same path for live updates. No library.

const ENDPOINT = "/graphql";

/** Every error from the API, in words, with its code and error id when it has them. */
export class ApiError extends Error {
  constructor(errors, status) {
    super(errors.map(describeError).join("; "));
    this.errors = errors;
    this.status = status;
  }
}

export function describeError(error) {
  const ext = (error && error.extensions) || {};
  const details = [ext.code, ext.errorId && `error id ${ext.errorId}`, ext.field && `field ${ext.field}`];
  const said = details.filter(Boolean).join(", ");
  return (error && error.message ? error.message : "Unknown error") + (said ? ` (${said})` : "");
}

/** The `data` of one GraphQL request; any error (transport, request or field) is thrown. */
export async function graphql(key, query, variables = {}) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
        Authorization: `Bearer ${key}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError([{ message: `The server cannot be reached (${error.message})`, extensions: { code: "NETWORK" } }], 0);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError([{ message: `HTTP ${response.status} without a JSON body` }], response.status);
  }
  if (body.errors && body.errors.length) throw new ApiError(body.errors, response.status);
  return body.data;
}

/**
 * One graphql-transport-ws socket for a view's subscriptions. A dropped socket is opened again
 * after a second and every subscription is sent again with `variables()` evaluated anew, so a
 * subscriber resumes after the last position it saw. A 4403 close (key refused) is final.
 */
export class Live {
  constructor(key, onStatus = () => {}) {
    this.key = key;
    this.onStatus = onStatus;
    this.subscriptions = new Map();
    this.nextId = 1;
    this.socket = null;
    this.ready = false;
    this.closed = false;
    this.timer = null;
  }

  subscribe(query, variables, handlers) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { query, variables, ...handlers });
    if (this.ready) this.sendSubscribe(id);
    else this.open();
    return () => {
      if (this.subscriptions.delete(id) && this.ready) this.send({ id, type: "complete" });
    };
  }

  open() {
    if (this.socket || this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = (this.socket = new WebSocket(`${scheme}://${location.host}${ENDPOINT}`, "graphql-transport-ws"));
    // The server sends its messages as binary frames (UTF-8 JSON): accept both kinds.
    socket.binaryType = "arraybuffer";
    socket.onopen = () => this.send({ type: "connection_init", payload: { Authorization: `Bearer ${this.key}` } });
    socket.onmessage = (message) => {
      const text = typeof message.data === "string" ? message.data : new TextDecoder().decode(message.data);
      this.receive(JSON.parse(text));
    };
    socket.onclose = (event) => this.dropped(event);
  }

  receive(message) {
    const subscription = this.subscriptions.get(message.id);
    switch (message.type) {
      case "connection_ack":
        this.ready = true;
        this.onStatus("live");
        for (const id of this.subscriptions.keys()) this.sendSubscribe(id);
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next":
        if (!subscription) break;
        if (message.payload.errors) subscription.error?.(new ApiError(message.payload.errors, 200));
        else subscription.next(message.payload.data);
        break;
      case "error":
        this.subscriptions.delete(message.id);
        subscription?.error?.(new ApiError(message.payload, 200));
        break;
      case "complete":
        this.subscriptions.delete(message.id);
        break;
    }
  }

  sendSubscribe(id) {
    const { query, variables } = this.subscriptions.get(id);
    const values = typeof variables === "function" ? variables() : variables;
    this.send({ id, type: "subscribe", payload: { query, variables: values } });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  dropped(event) {
    this.socket = null;
    this.ready = false;
    if (this.closed) return;
    if (event.code === 4403) {
      this.onStatus("refused");
      return;
    }
    this.onStatus("reconnecting");
    if (this.subscriptions.size) this.timer = setTimeout(() => this.open(), 1000);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.subscriptions.clear();
    if (this.socket) this.socket.close(1000);
    this.onStatus("off");
  }
}
