// The sandbox page's 钉钉 chats (bot/sandbox/dingtalk_web.py). app.js hands over when the
// chosen identity is on 钉钉 (window.LuoshiDingTalk.open / close / active / send): the chat
// area then shows that person's one-to-one chat with the robot — its markdown messages (the
// server renders them simply: bold, line breaks) with their action-card buttons. Typing sends a
// robot message; pressing a button sends its text back, as the 钉钉 client does. The chat is
// polled every 1.5 s and redrawn when its cursor changes. The channel badge in the chat header
// says which channel the open chat is on (Telegram / 钉钉).
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  let current = null; // the 钉钉 identity shown, or null (Telegram)
  let cursor = null;
  let timer = null;

  async function call(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `请求失败（${response.status}）`);
    return data;
  }

  function setBadge(channel) {
    const badge = $("channel-badge");
    if (!badge) return;
    badge.textContent = channel === "dingtalk" ? "钉钉" : "Telegram";
    badge.className = channel === "dingtalk" ? "channel-badge dingtalk" : "channel-badge";
    badge.hidden = false;
  }

  function row(message) {
    const node = document.createElement("div");
    node.className = message.from_bot ? "msg-row in dingtalk" : "msg-row out dingtalk";
    node.dataset.testid = "message";
    node.dataset.messageId = message.id;
    node.dataset.fromBot = String(message.from_bot);
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.dataset.testid = "message-bubble";
    const text = document.createElement("div");
    text.className = "text";
    text.dataset.testid = "message-text";
    text.innerHTML = message.html; // escaped by the server; only <b> is made there
    bubble.appendChild(text);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = message.time;
    bubble.appendChild(meta);
    node.appendChild(bubble);
    if (message.buttons.length) {
      const keyboard = document.createElement("div");
      keyboard.className = "keyboard";
      const line = document.createElement("div");
      line.className = "keyboard-row";
      for (const button of message.buttons) {
        const press = document.createElement("button");
        press.type = "button";
        press.textContent = button.label;
        press.dataset.testid = "dingtalk-button";
        press.addEventListener("click", () => pressButton(button.url, press));
        line.appendChild(press);
      }
      keyboard.appendChild(line);
      node.appendChild(keyboard);
    }
    return node;
  }

  function render(messages) {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    for (const node of box.querySelectorAll(".msg-row, .day-divider")) node.remove();
    $("empty").hidden = messages.length > 0;
    for (const message of messages) box.appendChild(row(message));
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  async function refresh() {
    const me = current;
    if (!me) return;
    try {
      const data = await call("GET", `/api/dingtalk/messages?user=${me.user_id}`);
      if (current !== me || data.cursor === cursor) return;
      cursor = data.cursor;
      render(data.messages);
    } catch (_error) {
      // the sandbox restarting: the next poll tries again
    }
  }

  async function pressButton(url, node) {
    if (!current) return;
    node.disabled = true;
    try {
      await call("POST", "/api/dingtalk/press", { user: current.user_id, url });
      setTimeout(refresh, 300);
    } catch (error) {
      window.alert(error.message);
    } finally {
      node.disabled = false;
    }
  }

  function open(identity) {
    close();
    current = identity;
    cursor = null;
    $("chat-list").replaceChildren();
    $("chat-list").classList.add("single");
    $("chat-title").textContent = "落实机器人";
    $("chat-avatar").textContent = "落";
    $("chat-avatar").className = "avatar";
    $("chat-sub").textContent = `钉钉单聊 · 我是 ${identity.name}${identity.unit ? ` · ${identity.unit}` : ""}`;
    const attach = $("attach");
    if (attach) attach.hidden = true;
    for (const node of $("messages").querySelectorAll(".msg-row, .day-divider")) node.remove();
    setBadge("dingtalk");
    refresh();
    timer = setInterval(refresh, 1500);
  }

  function close() {
    if (timer) clearInterval(timer);
    timer = null;
    current = null;
    const attach = $("attach");
    if (attach) attach.hidden = false;
    setBadge("telegram");
  }

  async function send(text) {
    if (!current) return;
    await call("POST", "/api/dingtalk/send", { user: current.user_id, text: text.trim() });
    setTimeout(refresh, 150);
    setTimeout(refresh, 800);
  }

  window.LuoshiDingTalk = { open, close, send, active: () => current !== null };
})();
