// Labels waiting to reach the node, kept in localStorage so that a reload or a dropped
// connection loses none of them.

import { ApiError, api } from "./api.js";
import { toast } from "./dom.js";

// Labels waiting to reach the node: kept in localStorage until the node acknowledged them
// (it answers only after the label is on disk), sent in order, the latest value per item.
export class Outbox {
  constructor(taskId, onStatus, onSaved) {
    this.key = `labelnet.outbox.${taskId}`;
    this.taskId = taskId;
    this.onStatus = onStatus;
    this.onSaved = onSaved;
    this.sending = false;
    try {
      this.pending = new Map(JSON.parse(localStorage.getItem(this.key) || "[]"));
    } catch {
      this.pending = new Map();
    }
  }

  has(itemId) {
    return this.pending.has(itemId);
  }

  items() {
    return [...this.pending.keys()];
  }

  value(itemId) {
    return this.pending.get(itemId);
  }

  add(itemId, value) {
    this.pending.delete(itemId);
    this.pending.set(itemId, value);
    this.persist();
    this.flush();
  }

  persist() {
    localStorage.setItem(this.key, JSON.stringify([...this.pending]));
  }

  async flush() {
    if (this.sending || this.pending.size === 0) return;
    this.sending = true;
    let again = false;
    const batch = [...this.pending].slice(0, 100);
    try {
      await api.submit(this.taskId, batch.map(([item, value]) => ({ item, value })));
      for (const [item, value] of batch) if (this.pending.get(item) === value) this.pending.delete(item);
      this.persist();
      this.onStatus(this.pending.size ? `Saving ${this.pending.size}…` : "All changes saved");
      this.onSaved();
      again = this.pending.size > 0;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        this.pending.clear();
        this.persist();
        this.onStatus("Not saved: labels are final for this task");
        toast(error.message);
      } else if (error instanceof ApiError && error.status === 401) {
        this.onStatus("Not saved: sign in with the API token");
      } else {
        this.onStatus(`Not saved yet (${error.message}); retrying`);
        setTimeout(() => this.flush(), 3000);
      }
    } finally {
      this.sending = false;
    }
    if (again) this.flush();
  }
}
