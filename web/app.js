'use strict';

// Same values the server uses for its named presets; shown in the inputs so the
// user can start a custom window from a preset.
const PRESETS = {
  lung: { center: -600, width: 1500 },
  mediastinum: { center: 50, width: 350 },
  brain: { center: 40, width: 80 },
  bone: { center: 500, width: 2000 },
  abdomen: { center: 40, width: 400 },
};
const STATIC_NOTICE = 'Research software: answers are machine-generated and not for clinical use.';

const $ = (id) => document.getElementById(id);
const els = {
  dropZone: $('drop-zone'), input: $('image-input'), fileName: $('file-name'),
  preview: $('preview'), previewStatus: $('preview-status'),
  windowControls: $('window-controls'), preset: $('window-preset'),
  center: $('window-center'), width: $('window-width'),
  form: $('ask-form'), question: $('question'), ask: $('ask'),
  error: $('error'), result: $('result'), status: $('status'), answer: $('answer'),
  probabilities: $('probabilities'), confidence: $('confidence'), timing: $('timing'), notice: $('notice'),
  history: $('history'), model: $('model'),
  heatmap: $('heatmap'), heatmapMethod: $('heatmap-method'), heatmapShow: $('heatmap-show'),
  heatmapOpacity: $('heatmap-opacity'), heatmapStatus: $('heatmap-status'),
};

const HEATMAP_NAMES = { attention: 'Q-Former attention', gradcam: 'Grad-CAM' };

// The server's blended PNG uses the same blue-cyan-green-yellow-red ramp.
function ramp(v) {
  const stops = [[0, 0, 255], [0, 255, 255], [0, 255, 0], [255, 255, 0], [255, 0, 0]];
  const t = Math.max(0, Math.min(1, v)) * 4;
  const i = Math.min(Math.floor(t), 3);
  const f = t - i;
  return stops[i].map((a, k) => Math.round(a + f * (stops[i + 1][k] - a)));
}

function hideHeatmap(message) {
  els.heatmap.hidden = true;
  delete els.heatmap.dataset.method;
  els.heatmapStatus.textContent = message;
}

// The map covers the center square of the image's shorter side (what the model sees); the preview
// is the whole image at the same aspect, so the square's place follows from its own size.
function showHeatmap(heatmap) {
  const grid = heatmap && heatmap.grid;
  const W = els.preview.naturalWidth, H = els.preview.naturalHeight;
  if (!Number.isInteger(grid) || grid <= 0 || !Array.isArray(heatmap.values) || !W || !H) {
    hideHeatmap('No heat map for this answer.');
    return;
  }
  const canvas = els.heatmap;
  canvas.width = grid;
  canvas.height = grid;
  const ctx = canvas.getContext('2d');
  const pixels = ctx.createImageData(grid, grid);
  for (let r = 0; r < grid; r += 1) {
    for (let c = 0; c < grid; c += 1) {
      const v = Number((heatmap.values[r] || [])[c]) || 0;
      const [red, green, blue] = ramp(v);
      pixels.data.set([red, green, blue, Math.round(255 * Math.max(0, Math.min(1, v)))], 4 * (r * grid + c));
    }
  }
  ctx.putImageData(pixels, 0, 0);
  const side = Math.min(W, H);
  canvas.style.left = `${(100 * (W - side)) / 2 / W}%`;
  canvas.style.top = `${(100 * (H - side)) / 2 / H}%`;
  canvas.style.width = `${(100 * side) / W}%`;
  canvas.style.height = `${(100 * side) / H}%`;
  canvas.style.opacity = String(Number(els.heatmapOpacity.value) / 100);
  canvas.dataset.method = heatmap.method;
  canvas.hidden = !els.heatmapShow.checked;
  els.heatmapStatus.textContent = `${HEATMAP_NAMES[heatmap.method] || heatmap.method} for "${heatmap.answer}", ` +
    `${grid} × ${grid} patches of the square the model sees (red: most).`;
}

const state = {
  file: null,
  dicom: false,        // true: the preview comes from the server and windowing applies
  previewUrl: null,    // object URL currently shown in #preview
  previewAbort: null,  // in-flight /v1/preview request, superseded by newer ones
  seq: 0,              // bumps on every file change so late responses for older files are dropped
  busy: false,
};
// Object URLs still shown as history thumbnails must outlive the preview.
const keptUrls = new Set();

function showError(message) {
  els.error.textContent = message;
  els.error.hidden = false;
}

function clearError() {
  els.error.textContent = '';
  els.error.hidden = true;
}

async function apiError(res) {
  let message = `Request failed: ${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch { /* not JSON: keep the status line */ }
  const retry = res.headers.get('Retry-After');
  if (res.status === 503 && retry) message += ` (server busy; try again in ${retry} s)`;
  return new Error(message);
}

function networkMessage(err) {
  return err instanceof TypeError ? 'Could not reach the server. Is medvqa running?' : err.message;
}

// Window fields for the request; null when a custom window is incomplete.
function windowFields() {
  const preset = els.preset.value;
  if (preset === 'custom') {
    const center = Number.parseFloat(els.center.value);
    const width = Number.parseFloat(els.width.value);
    if (!Number.isFinite(center) || !Number.isFinite(width) || width <= 0) return null;
    return [['window_center', String(center)], ['window_width', String(width)]];
  }
  return preset in PRESETS ? [['window', preset]] : [];
}

function setPreview(url, caption) {
  hideHeatmap('Ask a question to see where the model looked.');
  if (state.previewUrl && !keptUrls.has(state.previewUrl)) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = url;
  els.preview.hidden = !url;
  if (url) {
    els.preview.src = url;
    els.preview.alt = `Preview of ${state.file ? state.file.name : 'the image'}`;
  } else {
    els.preview.removeAttribute('src');
    els.preview.alt = '';
  }
  els.previewStatus.textContent = caption;
}

function decodesLocally(url) {
  return new Promise((resolve) => {
    const probe = new Image();
    probe.onload = () => resolve(true);
    probe.onerror = () => resolve(false);
    probe.src = url;
  });
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function selectFile(file) {
  const seq = ++state.seq;
  state.file = file;
  clearError();
  clearResult();
  if (state.previewAbort) state.previewAbort.abort();
  els.fileName.textContent = file ? `${file.name} (${formatSize(file.size)})` : '';
  if (!file) {
    setDicom(false);
    setPreview(null, 'No image selected.');
    return;
  }
  if (!/\.(dcm|dicom)$/i.test(file.name)) {
    const url = URL.createObjectURL(file);
    if (await decodesLocally(url)) {
      if (seq !== state.seq) { URL.revokeObjectURL(url); return; }
      setDicom(false);
      setPreview(url, file.name);
      return;
    }
    URL.revokeObjectURL(url);
    if (seq !== state.seq) return;
  }
  // Not something the browser can show (DICOM, most likely): let the server render it.
  setDicom(true);
  setPreview(null, 'Rendering preview…');
  fetchPreview();
}

function setDicom(dicom) {
  state.dicom = dicom;
  els.windowControls.disabled = !dicom;
}

async function fetchPreview() {
  if (!state.file || !state.dicom) return;
  const fields = windowFields();
  if (fields === null) {
    els.previewStatus.textContent = 'Enter both a window center and a positive width.';
    return;
  }
  if (state.previewAbort) state.previewAbort.abort();
  const controller = new AbortController();
  state.previewAbort = controller;
  const seq = state.seq;
  const form = new FormData();
  form.append('image', state.file);
  for (const [k, v] of fields) form.append(k, v);
  els.previewStatus.textContent = 'Rendering preview…';
  try {
    const res = await fetch('v1/preview', { method: 'POST', body: form, signal: controller.signal });
    if (!res.ok) throw await apiError(res);
    const blob = await res.blob();
    if (seq !== state.seq || controller.signal.aborted) return;
    setPreview(URL.createObjectURL(blob), `${state.file.name} — ${windowLabel()} (server rendering)`);
  } catch (err) {
    if (err.name === 'AbortError' || seq !== state.seq) return;
    setPreview(null, 'No preview available.');
    showError(`Preview failed: ${networkMessage(err)}`);
  }
}

function windowLabel() {
  const option = els.preset.selectedOptions[0];
  if (els.preset.value === 'custom') return `window W${els.width.value} / L${els.center.value}`;
  return option ? option.textContent : '';
}

let previewTimer = 0;
function schedulePreview() {
  clearTimeout(previewTimer);
  // Typing a number fires on every key; wait for a pause before asking the server.
  previewTimer = setTimeout(fetchPreview, 300);
}

function clearResult() {
  els.status.textContent = '';
  els.answer.textContent = '';
  els.confidence.textContent = '';
  els.probabilities.replaceChildren();
  els.probabilities.hidden = true;
  els.timing.textContent = '';
  els.notice.textContent = '';
}

// The model's probability of its answer (calibrated when the model has calibration.json), and the
// withheld answer when the server answered "uncertain".
function confidenceText(data) {
  if (typeof data.confidence !== 'number') return '';
  let text = `Confidence ${(100 * data.confidence).toFixed(0)}% (the model's probability of this answer)`;
  if (data.uncertain && typeof data.withheld_answer === 'string') text += `; below the threshold, it would have answered "${data.withheld_answer}"`;
  return text;
}

function renderProbabilities(probs) {
  els.probabilities.replaceChildren();
  els.probabilities.hidden = probs.length === 0;
  if (probs.length === 0) return;
  const heading = document.createElement('h3');
  heading.textContent = 'Closed-answer probabilities';
  els.probabilities.append(heading);
  for (const p of [...probs].sort((a, b) => b.probability - a.probability)) {
    const pct = Math.max(0, Math.min(100, p.probability * 100));
    const row = document.createElement('div');
    row.className = 'prob';
    row.dataset.label = p.answer;
    const label = document.createElement('span');
    label.className = 'prob-label';
    label.textContent = p.answer;
    const track = document.createElement('span');
    track.className = 'prob-track';
    track.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.className = 'prob-fill';
    fill.style.width = `${pct}%`;
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'prob-value';
    value.textContent = `${pct.toFixed(1)}%`;
    row.append(label, track, value);
    els.probabilities.append(row);
  }
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function timingText(timings, clientMs) {
  if (!timings || !Number.isFinite(timings.total_ms)) return `Answered in ${formatMs(clientMs)}.`;
  const parts = [['image', timings.image_ms], ['generation', timings.generate_ms], ['queue', timings.queue_ms]]
    .filter(([, v]) => Number.isFinite(v))
    .map(([name, v]) => `${name} ${formatMs(v)}`);
  return `Answered in ${formatMs(timings.total_ms)}` + (parts.length ? ` (${parts.join(', ')}).` : '.');
}

function addHistory(question, data, timing) {
  const li = document.createElement('li');
  li.className = 'history-item';
  if (state.previewUrl) {
    keptUrls.add(state.previewUrl);
    const thumb = document.createElement('img');
    thumb.className = 'thumb';
    thumb.src = state.previewUrl;
    thumb.alt = state.file.name;
    li.append(thumb);
  } else {
    const name = document.createElement('span');
    name.className = 'thumb thumb-name';
    name.textContent = state.file.name;
    li.append(name);
  }
  const body = document.createElement('div');
  body.className = 'history-body';
  const q = document.createElement('p');
  q.className = 'history-q';
  q.textContent = question;
  const a = document.createElement('p');
  a.className = 'history-a';
  a.textContent = data.answer;
  const meta = document.createElement('p');
  meta.className = 'history-meta muted';
  meta.textContent = `${new Date().toLocaleTimeString()} · ${timing}`;
  body.append(q, a, meta);
  li.append(body);
  els.history.prepend(li);
}

function setBusy(busy) {
  state.busy = busy;
  els.ask.disabled = busy;
  els.result.setAttribute('aria-busy', String(busy));
  els.status.textContent = busy ? 'Thinking…' : '';
}

async function ask(event) {
  event.preventDefault();
  if (state.busy) return;
  clearError();
  const question = els.question.value.trim();
  if (!state.file) {
    showError('Choose an image first.');
    els.input.focus();
    return;
  }
  if (!question) {
    showError('Please type a question.');
    els.question.focus();
    return;
  }
  const fields = state.dicom ? windowFields() : [];
  if (fields === null) {
    showError('Enter both a window center and a positive width, or pick a preset.');
    els.center.focus();
    return;
  }
  const form = new FormData();
  form.append('image', state.file);
  form.append('question', question);
  for (const [k, v] of fields) form.append(k, v);
  if (els.heatmapMethod.value) form.append('heatmap', els.heatmapMethod.value);

  clearResult();
  setBusy(true);
  const started = performance.now();
  try {
    const res = await fetch('v1/answer', { method: 'POST', body: form, headers: { Accept: 'application/json' } });
    if (!res.ok) throw await apiError(res);
    const data = await res.json();
    const timing = timingText(data.timings, performance.now() - started);
    els.answer.textContent = data.answer;
    els.confidence.textContent = confidenceText(data);
    renderProbabilities(Array.isArray(data.closed_probabilities) ? data.closed_probabilities : []);
    els.timing.textContent = timing;
    els.notice.textContent = data.notice || STATIC_NOTICE;
    if (data.heatmap) showHeatmap(data.heatmap);
    else hideHeatmap(els.heatmapMethod.value ? 'No heat map for this answer.' : 'Heat maps are off.');
    addHistory(question, data, timing);
  } catch (err) {
    showError(networkMessage(err));
  } finally {
    setBusy(false);
  }
}

async function loadModel() {
  try {
    const res = await fetch('v1/models');
    if (!res.ok) return;
    const body = await res.json();
    const id = body && body.data && body.data[0] && body.data[0].id;
    if (id) els.model.textContent = `· model ${id}`;
  } catch { /* the header is decoration; questions still work */ }
}

els.input.addEventListener('change', () => selectFile(els.input.files[0] || null));
els.heatmapShow.addEventListener('change', () => {
  els.heatmap.hidden = !els.heatmapShow.checked || !els.heatmap.dataset.method;
});
els.heatmapOpacity.addEventListener('input', () => {
  els.heatmap.style.opacity = String(Number(els.heatmapOpacity.value) / 100);
});
els.form.addEventListener('submit', ask);

els.preset.addEventListener('change', () => {
  const preset = PRESETS[els.preset.value];
  if (preset) {
    els.center.value = preset.center;
    els.width.value = preset.width;
  } else if (els.preset.value === 'default') {
    els.center.value = '';
    els.width.value = '';
  }
  fetchPreview();
});
for (const input of [els.center, els.width]) {
  input.addEventListener('input', () => {
    els.preset.value = 'custom';
    schedulePreview();
  });
}

// A file dropped anywhere else would make the browser navigate away from the page.
for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());
els.dropZone.addEventListener('dragover', (e) => {
  e.preventDefault();
  els.dropZone.classList.add('dragging');
});
els.dropZone.addEventListener('dragleave', () => els.dropZone.classList.remove('dragging'));
els.dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  els.dropZone.classList.remove('dragging');
  const files = e.dataTransfer && e.dataTransfer.files;
  if (!files || files.length === 0) return;
  els.input.files = files;  // keep the input in step so it names the dropped file
  selectFile(files[0]);
});

clearResult();
loadModel();
