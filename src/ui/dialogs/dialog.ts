/** Modal dialogs on `<dialog>`: focus moves in, Escape closes, the page behind is inert. */
import { html, type Raw } from '../dom.js';

/** Opens a modal with `body` (its form's buttons decide); removed from the page when it closes. */
export function openDialog(title: string, body: Raw, id = 'dialog'): HTMLDialogElement {
  const dialog = document.createElement('dialog');
  dialog.id = id;
  dialog.setAttribute('aria-labelledby', `${id}-title`);
  dialog.innerHTML = html`<h2 id="${id}-title">${title}</h2>
    ${body}`.text;
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
  return dialog;
}

/** Asks before something that cannot be undone; resolves true when the person confirms. */
export function confirmDialog(title: string, message: Raw, ok: string, danger = false): Promise<boolean> {
  const dialog = openDialog(
    title,
    html`<form method="dialog">
      ${message}
      <p class="actions">
        <button value="ok" class="${danger ? 'danger' : 'primary'}">${ok}</button> <button value="cancel" autofocus>Cancel</button>
      </p>
    </form>`,
    'confirm',
  );
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}
