// The inbox: what happened to my bindings and applications (bound, removed, withdrawn, reviewed), newest
// first, unread ones marked; reading one marks it read.

import { t, pick } from '../i18n.js';
import { get, post } from '../net.js';
import { h, fill, pageHeading, loadingBlock, errorNotice, busy, cstDateTime, notice } from '../ui.js';
import { setUnread } from '../state.js';

export async function mount(container) {
  const list = h('div', { id: 'inbox-list' }, loadingBlock());
  const summary = h('p', { class: 'meta', id: 'inbox-summary', 'aria-live': 'polite' });
  const markAll = h('button', { type: 'button', id: 'mark-all-read', hidden: true }, t('inboxMarkAllRead'));
  fill(container, pageHeading(t('inboxTitle')), summary, h('div', { class: 'card' }, list),
    h('div', { class: 'actions' }, markAll));

  const load = async () => {
    let answer;
    try {
      answer = await get('/notifications');
    } catch (err) {
      fill(list, errorNotice(err));
      return;
    }
    const notes = answer?.notifications ?? [];
    const unread = answer?.unreadCount ?? 0;
    setUnread(unread);
    summary.textContent = unread ? t('inboxUnreadCount', { n: unread }) : (notes.length ? t('inboxAllRead') : '');
    markAll.hidden = unread === 0;
    if (notes.length === 0) {
      fill(list, h('p', {}, t('inboxNone')));
      return;
    }
    fill(list, h('ul', { class: 'list' }, notes.map((n) => {
      const read = h('button', { type: 'button', class: 'link', 'data-action': 'mark-read' }, t('inboxMarkRead'));
      read.addEventListener('click', () => busy(read, async () => {
        try {
          await post(`/notifications/${encodeURIComponent(n.id)}/read`, {}, { idempotent: true });
        } catch (err) { list.prepend(errorNotice(err)); return; }
        await load();
      }));
      return h('li', { 'data-notification-id': n.id, 'data-kind': n.kind, class: n.read ? 'read' : 'unread' },
        h('div', { class: 'row' },
          h('div', { class: 'grow' },
            n.read ? null : h('span', { class: 'badge unread-dot' }, t('inboxUnread')), n.read ? null : ' ',
            h('span', {}, pick(n.message)),
            h('div', { class: 'meta' }, cstDateTime(n.createdAt))),
          n.read ? null : read));
    })));
  };
  markAll.addEventListener('click', () => busy(markAll, async () => {
    try {
      const answer = await post('/notifications/read', {}, { idempotent: true });
      setUnread(answer?.unreadCount ?? 0);
    } catch (err) { fill(list, errorNotice(err)); return; }
    await load();
    summary.prepend(notice(t('inboxAllRead'), 'ok'));
  }));
  await load();
}
