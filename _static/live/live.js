/* Live chapter pages (issue 16): recompute every hardware-dependent value of this page for
 * another accelerator, or for edited inputs, in the browser, offline.
 *
 * Hand-written runtime. The closed forms, catalog and verdict rules come from generated.js
 * (`python -m helpers live`); the page's own data (which glued name is which headline and part)
 * from an inline script the Sphinx extension helpers/sphinx_live.py writes. The formatters below
 * mirror helpers/fmt.py and helpers/registry.py FORMATS exactly (tests/test_live.py checks
 * parity in Node). Nothing a reader types is ever inserted as HTML: textContent only. */
(function (L) {
  "use strict";

  // --- exact decimal arithmetic on a double (Python's round and format rules) --------------
  var VIEW = new DataView(new ArrayBuffer(8));
  function exact(x) {          // {neg, i, f}: the double's exact decimal digits
    var neg = x < 0 || Object.is(x, -0), a = Math.abs(x);
    if (Number.isInteger(a)) return { neg: neg, i: BigInt(a).toString(), f: "" };
    VIEW.setFloat64(0, a);
    var hi = VIEW.getUint32(0), lo = VIEW.getUint32(4), ex = (hi >>> 20) & 0x7ff;
    var mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo), k;
    if (ex === 0) k = 1074; else { mant |= 1n << 52n; k = 1075 - ex; }
    // a = mant / 2^k = mant * 5^k / 10^k: k decimals, exactly
    var d = (mant * 5n ** BigInt(k)).toString();
    if (d.length <= k) d = "0".repeat(k - d.length + 1) + d;
    return { neg: neg, i: d.slice(0, d.length - k), f: d.slice(d.length - k).replace(/0+$/, "") };
  }

  function incr(s) {           // a string of decimal digits plus one
    var d = s.split(""), k = d.length - 1;
    while (k >= 0) {
      if (d[k] === "9") { d[k] = "0"; k--; } else { d[k] = String(+d[k] + 1); return d.join(""); }
    }
    return "1" + d.join("");
  }

  // round the exact value to `digits` decimals (negative: tens, hundreds), half to even:
  // {neg, i, f} with f exactly max(digits, 0) long
  function roundDec(e, digits) {
    var pos = e.i.length, all = e.i + e.f, keep = pos + digits;
    if (keep < 1) { all = "0".repeat(1 - keep) + all; pos += 1 - keep; keep = 1; }
    if (all.length < keep) all = all + "0".repeat(keep - all.length);
    var head = all.slice(0, keep), rest = all.slice(keep), up = false;
    if (rest.length) {
      var c = rest.charCodeAt(0) - 48, tail = /[1-9]/.test(rest.slice(1));
      up = c > 5 || (c === 5 && (tail || (head.charCodeAt(head.length - 1) - 48) % 2 === 1));
    }
    if (up) { var grown = incr(head); if (grown.length > head.length) pos++; head = grown; }
    var ip, fp;
    if (digits > 0) { ip = head.slice(0, head.length - digits); fp = head.slice(head.length - digits); }
    else { ip = head + "0".repeat(-digits); fp = ""; }
    ip = ip.replace(/^0+(?=\d)/, "");
    return { neg: e.neg, i: ip || "0", f: fp };
  }

  function group(i) { return i.replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  function pyFixed(x, d, commas) {     // f"{x:.{d}f}" (f"{x:,.{d}f}" with commas)
    if (!isFinite(x)) return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    var r = roundDec(exact(x), d), i = commas ? group(r.i) : r.i;
    return (r.neg ? "-" : "") + i + (d > 0 ? "." + r.f : "");
  }

  function pyExp(x, d) {               // f"{x:.{d}e}"
    if (!isFinite(x)) return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    var e = exact(x), digits = (e.i === "0" ? "" : e.i) + e.f, E;
    if (x === 0) return (e.neg ? "-" : "") + "0" + (d > 0 ? "." + "0".repeat(d) : "") + "e+00";
    if (e.i !== "0") E = e.i.length - 1;
    else E = -(e.f.search(/[1-9]/) + 1);
    var sig = e.i !== "0" ? digits : e.f.slice(-E - 1);
    var r = roundDec({ neg: false, i: sig.slice(0, 1), f: sig.slice(1) }, d);
    if (r.i.length > 1) { r = { i: r.i.slice(0, 1), f: (r.i.slice(1) + r.f).slice(0, d) }; E++; }
    var ex = Math.abs(E) < 10 ? "0" + Math.abs(E) : String(Math.abs(E));
    return (e.neg ? "-" : "") + r.i + (d > 0 ? "." + r.f : "") + "e" + (E < 0 ? "-" : "+") + ex;
  }

  function pyG(x) {                    // f"{x:g}"
    if (!isFinite(x)) return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    var s = pyExp(x, 5), E = parseInt(s.slice(s.indexOf("e") + 1), 10), out;
    if (E >= -4 && E < 6) {
      out = pyFixed(x, 5 - E, false);
      if (out.indexOf(".") >= 0) out = out.replace(/0+$/, "").replace(/\.$/, "");
      return out;
    }
    var m = s.slice(0, s.indexOf("e")), tail = s.slice(s.indexOf("e"));
    if (m.indexOf(".") >= 0) m = m.replace(/0+$/, "").replace(/\.$/, "");
    return m + tail;
  }

  function pyStr(x) {                  // str(float) for the cases fmt.num passes through
    if (isNaN(x)) return "nan";
    if (!isFinite(x)) return x > 0 ? "inf" : "-inf";
    return Object.is(x, -0) ? "-0.0" : "0.0";
  }

  // --- helpers/fmt.py -------------------------------------------------------------------------
  function num(x, sig) {
    sig = sig === undefined ? 3 : sig;
    if (x === 0 || !isFinite(x)) return pyStr(x);
    var digits = sig - Math.floor(Math.log10(Math.abs(x))) - 1;
    var r = parseFloat(pyFixedRound(x, digits));
    if (r && Math.floor(Math.log10(Math.abs(r))) > Math.floor(Math.log10(Math.abs(x)))) {
      digits -= 1;
      r = parseFloat(pyFixedRound(x, digits));
    }
    if (digits <= 0) {
      var b = BigInt(r), neg = b < 0n;
      return (neg ? "-" : "") + group((neg ? -b : b).toString());
    }
    return pyFixed(r, digits, true);
  }

  function pyFixedRound(x, digits) {    // round(x, digits) as a decimal string
    var r = roundDec(exact(x), digits);
    return (r.neg ? "-" : "") + r.i + (r.f ? "." + r.f : "");
  }

  function integer(x) {                 // f"{round(x):,}"
    var neg = x < 0, a = Math.abs(x), i;
    if (a >= 4503599627370496) i = BigInt(a);
    else {
      var f = Math.floor(a), diff = a - f;
      i = BigInt(diff > 0.5 || (diff === 0.5 && f % 2 === 1) ? f + 1 : f);
    }
    return (neg && i !== 0n ? "-" : "") + group(i.toString());
  }

  function pct(x, sig) {
    if (Math.abs(x) < 1e-12) return "0 %";
    return num(100 * x, sig === undefined ? 2 : sig) + " %";
  }

  var SUP = { "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶",
    "7": "⁷", "8": "⁸", "9": "⁹" };
  function sci(x, sig) {
    var s = pyExp(x, (sig === undefined ? 3 : sig) - 1), k = s.indexOf("e");
    var exp = String(parseInt(s.slice(k + 1), 10)).replace(/./g, function (c) { return SUP[c]; });
    return s.slice(0, k) + " × 10" + exp;
  }

  function duration(seconds) {
    var units = [["h", 3600], ["min", 60], ["s", 1], ["ms", 1e-3]];
    for (var k = 0; k < units.length; k++) {
      if (seconds >= units[k][1]) return num(seconds / units[k][1]) + " " + units[k][0];
    }
    return num(seconds * 1e3) + " ms";
  }

  var FORMATS = {
    num: function (x) { return num(x); }, integer: integer,
    pct: function (x) { return pct(x); }, sci: function (x) { return sci(x); },
    pct3: function (x) { return pct(x, 3); },
    num2: function (x) { return num(x, 2); }, num4: function (x) { return num(x, 4); },
    e1: function (x) { return pyExp(x, 1); },
    duration: duration,
    sequences: function (x) { return integer(x) + " sequences"; },
    g: pyG,
    reciprocal: function (x) { return "1/" + integer(1 / x); },
    times: function (x) { return pyFixed(x, 1, false) + "×"; },
    times2: function (x) { return pyFixed(x, 2, false) + "×"; },
    millions: function (x) { return num(x / 1e6) + "M"; },
    billions: function (x) { return num(x / 1e9) + "B"; },
    trillions: function (x) { return num(x / 1e12) + "T"; }
  };

  // --- helpers/verdicts.py ----------------------------------------------------------------------
  function factorText(factor, caveat) {
    var ds = factor >= 2 ? [1] : [2, 3, 4], text;
    for (var k = 0; k < ds.length; k++) {
      text = pyFixed(factor, ds[k], false);
      if (parseFloat(text) > 1 + caveat) return text;
    }
    return text;
  }

  function ratioVerdict(claimed, derived, band) {
    if (!(claimed > 0) || !(derived > 0)) return null;    // verdicts compare positive numbers
    var holds = band[0], caveat = band[1], r = derived / claimed;
    if (Math.abs(Math.log(r)) <= Math.log(1 + holds)) return "holds";
    if (Math.abs(Math.log(r)) <= Math.log(1 + caveat)) return "holds with caveat";
    var factor = r > 1 ? r : 1 / r, direction = r < 1 ? "high" : "low";
    return "off by " + factorText(factor, caveat) + "× (claim too " + direction + ")";
  }

  function severity(label) {
    if (label === "holds") return 0;
    if (label === "holds with caveat") return 1;
    var m = /^off by ([\d.]+)×/.exec(label);
    return m ? 2 + parseFloat(m[1]) : 1e9;
  }

  // --- evaluation -------------------------------------------------------------------------------
  var D = L.data;

  // accelerator fields (SI) for a catalogued part with overrides {field: number in its unit}
  function fieldsFor(key, overrides) {
    var acc = D.accelerators[key], h = { _other: {} };
    Object.keys(acc.fields).forEach(function (n) {
      var f = acc.fields[n];
      h[n] = f.si;
      h._other[n] = f.other != null ? f.other : f.si;
    });
    Object.keys(overrides || {}).forEach(function (n) {
      var si = overrides[n] * D.units[acc.fields[n].unit];
      h[n] = si; h._other[n] = si;          // a value set with --set has no other reading
    });
    return h;
  }

  function value(name, h) {
    var f = L.fn[name];
    return f ? f(h) : null;
  }

  function text(name, x) { return FORMATS[D.headlines[name].fmt](x); }

  function verdictFor(claimId, hRun, parts) {
    var rules = D.rules[claimId], worst = null;
    for (var k = 0; k < rules.length; k++) {
      var r = rules[k], part = r.part;
      var h = (part == null || part === "run") ? hRun : parts.get(part);
      var x = L.fn[r.headline] ? L.fn[r.headline](h) : null;
      if (x == null || !isFinite(x)) return null;
      var label = ratioVerdict(r.claimed, x, r.band || D.bands["default"]);
      if (label == null) return null;
      if (worst == null || severity(label) > severity(worst)) worst = label;
    }
    return worst;
  }

  L.format = FORMATS; L.num = num; L.integer = integer; L.pct = pct; L.sci = sci;
  L.duration = duration; L.ratioVerdict = ratioVerdict; L.factorText = factorText;
  L.fieldsFor = fieldsFor; L.value = value; L.text = text; L.verdictFor = verdictFor;
  L.severity = severity;

  if (typeof document === "undefined") return;     // Node (the parity test): no page

  // --- the page -----------------------------------------------------------------------------
  var P = window.LIVE_PAGE;
  if (!P || !D.accelerators[P.run]) return;

  var KIND_CLASS = { "holds": "holds", "holds with caveat": "caveat", "does not follow": "nofollow" };
  var NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

  function el(tag, attrs, txt) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (txt != null) e.textContent = txt;
    return e;
  }

  function shown(x) {            // a catalog number as the form shows it
    return x == null ? "" : String(x);
  }

  // whether a live claim reads the run's accelerator (a rule for a named part never moves)
  function followsRun(id) {
    return !!D.rules[id] && D.rules[id].some(function (r) { return r.part == null || r.part === "run"; });
  }

  function Page() {
    var self = this;
    this.committed = new Map();      // element -> committed text
    this.results = [];               // [{el, name, info}]
    this.claims = [];                // [{el, id, kind: glue|badge|cell}]
    this.derivedCells = [];          // verdict-table cells of live claims' derived numbers
    document.querySelectorAll("[data-result]").forEach(function (e) {
      var info = P.results[e.getAttribute("data-result")];
      if (!info || info.kind === "fixed") return;
      self.results.push({ el: e, name: e.getAttribute("data-result"), info: info });
      self.committed.set(e, e.textContent);
    });
    this.markTables();
    document.querySelectorAll("[data-claim]").forEach(function (e) {
      var id = e.getAttribute("data-claim");
      if (!P.claims[id]) return;
      var kind = e.classList.contains("verdict") ? "badge" : (e.tagName === "TD" ? "cell" : "glue");
      self.claims.push({ el: e, id: id, kind: kind, cls: e.className });
      self.committed.set(e, e.textContent);
    });
    this.nameEls = [];
    document.querySelectorAll('[data-glue="run_accelerator_name"]').forEach(function (e) {
      self.nameEls.push(e); self.committed.set(e, e.textContent);
    });
    this.state = { acc: P.run, set: {} };
    this.build();
    this.fromUrl();
  }

  // the verdict table: rows whose first cell is a claim of this page get the claim hook
  Page.prototype.markTables = function () {
    var self = this;
    document.querySelectorAll("article table, main table").forEach(function (t) {
      var heads = Array.prototype.map.call(t.querySelectorAll("thead th"),
        function (th) { return th.textContent.trim().toLowerCase(); });
      var v = heads.indexOf("verdict"), d = heads.indexOf("derived");
      if (v < 0 || heads[0] !== "claim") return;
      t.querySelectorAll("tbody tr").forEach(function (tr) {
        var cells = tr.querySelectorAll("td"), id = cells[0] && cells[0].textContent.trim();
        if (!id || !P.claims[id] || !cells[v]) return;
        cells[v].setAttribute("data-claim", id);
        if (d >= 0 && cells[d] && followsRun(id)) {
          self.derivedCells.push({ el: cells[d], id: id });
          self.committed.set(cells[d], cells[d].textContent);
        }
      });
    });
  };

  Page.prototype.anchor = function () {
    var first = null, cands = this.results.map(function (r) { return r.el; }).concat(this.nameEls);
    this.claims.forEach(function (c) { if (D.rules[c.id]) cands.push(c.el); });
    cands.forEach(function (e) {
      if (!first || (e.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING)) first = e;
    });
    if (!first) return null;
    var n = first;
    while (n.parentElement && !/^(SECTION|ARTICLE|MAIN)$/.test(n.parentElement.tagName) &&
           !n.parentElement.classList.contains("bd-article")) n = n.parentElement;
    return n;
  };

  Page.prototype.build = function () {
    var self = this, anchor = this.anchor();
    if (!anchor) return;
    var box = el("form", { "class": "live-control", "aria-label": "Recompute this page",
      "novalidate": "" });
    box.addEventListener("submit", function (ev) { ev.preventDefault(); });
    box.appendChild(el("p", { "class": "live-title" }, "Recompute this page for another chip"));
    var row = el("div", { "class": "live-row" });
    var lab = el("label", { "for": "live-acc" }, "Accelerator ");
    var sel = el("select", { "id": "live-acc", "data-live-accelerator": "" });
    Object.keys(D.accelerators).forEach(function (k) {
      var o = el("option", { value: k }, D.accelerators[k].name);
      if (k === P.run) o.selected = true;
      sel.appendChild(o);
    });
    lab.appendChild(sel);
    row.appendChild(lab);
    var reset = el("button", { type: "button", "class": "live-reset", "data-live-reset": "" },
      "Reset to the committed page");
    row.appendChild(reset);
    box.appendChild(row);
    var grid = el("div", { "class": "live-fields" });
    this.inputs = {};
    P.fields.forEach(function (n) {
      var f = el("div", { "class": "live-field" });
      var id = "live-f-" + n;
      var l = el("label", { "for": id }, D.fields[n]);
      var inp = el("input", { id: id, type: "text", inputmode: "decimal", autocomplete: "off",
        "data-live-field": n, "aria-describedby": id + "-unit " + id + "-err" });
      var u = el("span", { "class": "live-unit", id: id + "-unit" }, "");
      var err = el("span", { "class": "live-error", id: id + "-err", role: "alert" }, "");
      f.appendChild(l); f.appendChild(inp); f.appendChild(u); f.appendChild(err);
      grid.appendChild(f);
      self.inputs[n] = { input: inp, unit: u, err: err };
      inp.addEventListener("input", function () { self.edited(); });
      inp.addEventListener("change", function () { self.edited(); });
    });
    // the fields fold away so the control takes two lines on a phone; a link that sets a
    // field opens them
    this.more = el("details", { "class": "live-more" });
    this.more.appendChild(el("summary", {}, "Edit the inputs"));
    this.more.appendChild(grid);
    box.appendChild(this.more);
    this.status = el("p", { "class": "live-status", role: "status", "aria-live": "polite" }, "");
    box.appendChild(this.status);
    this.rerunBox = el("p", { "class": "live-rerun", hidden: "" });
    box.appendChild(this.rerunBox);
    this.more.appendChild(el("p", { "class": "live-legend" },
      "✱ recomputed here from the book's formulas; † not a closed form: needs a re-run."));
    anchor.parentNode.insertBefore(box, anchor);
    this.box = box; this.sel = sel;
    sel.addEventListener("change", function () {
      self.state = { acc: sel.value, set: {} };
      self.fillInputs();
      self.apply(true);
    });
    reset.addEventListener("click", function () { self.reset(); });
    this.fillInputs();
  };

  Page.prototype.fillInputs = function () {
    var acc = D.accelerators[this.state.acc], self = this;
    Object.keys(this.inputs).forEach(function (n) {
      var f = acc.fields[n] || {}, w = self.inputs[n];
      w.input.value = n in self.state.set ? shown(self.state.set[n]) : shown(f.value);
      w.input.placeholder = f.value == null ? "none (the BF16 rate)" : "";
      w.unit.textContent = f.unit || "";
      w.err.textContent = "";
      w.input.removeAttribute("aria-invalid");
    });
    this.sel.value = this.state.acc;
  };

  // read one field: a number, or an error message (never reader text as HTML)
  Page.prototype.read = function (n, raw) {
    var acc = D.accelerators[this.state.acc], f = acc.fields[n], unit = f.unit;
    var t = raw.trim(), label = D.fields[n];
    if (t === "") {
      if (f.value == null) return { missing: true };
      return { error: label + ": empty; give a number in " + unit };
    }
    if (!NUMBER.test(t)) return { error: label + ": not a number; give the number alone, in " + unit };
    var x = Number(t);
    if (!isFinite(x)) return { error: label + ": not a finite number" };
    if (x <= 0) return { error: label + ": must be positive (in " + unit + ")" };
    if (D.dims[n] === "count" && x !== Math.floor(x)) {
      return { error: label + ": a whole number of chips" };
    }
    var si = x * D.units[unit], r = D.ranges[n], fac = D.units[unit];
    if (!(si >= r[0] && si <= r[1])) {
      return { error: label + ": outside the plausible range, " + (r[0] / fac).toPrecision(3) +
        " to " + (r[1] / fac).toPrecision(3) + " " + unit + " (the hardware check's)" };
    }
    return { value: x };
  };

  Page.prototype.edited = function () {
    var acc = D.accelerators[this.state.acc], set = {}, bad = false, self = this;
    Object.keys(this.inputs).forEach(function (n) {
      var w = self.inputs[n], r = self.read(n, w.input.value);
      w.err.textContent = r.error || "";
      if (r.error) { bad = true; w.input.setAttribute("aria-invalid", "true"); return; }
      w.input.removeAttribute("aria-invalid");
      if (r.missing) return;
      if (r.value !== acc.fields[n].value) set[n] = r.value;
    });
    if (bad) {
      this.status.textContent = "Some inputs are not usable (see above); the page's values are " +
        "unchanged.";
      return false;
    }
    this.state = { acc: this.state.acc, set: set };
    this.apply(true);
    return true;
  };

  Page.prototype.isCommitted = function () {
    return this.state.acc === P.run && Object.keys(this.state.set).length === 0;
  };

  Page.prototype.command = function () {
    var s = this.state, parts = ["python -m helpers rerun --hardware " + s.acc];
    Object.keys(s.set).sort().forEach(function (n) { parts.push("--set " + n + "=" + s.set[n]); });
    parts.push("--chapters " + P.chapter.split("_")[0]);
    return parts.join(" ");
  };

  Page.prototype.restore = function (e) {
    e.textContent = this.committed.get(e);
    e.classList.remove("live-changed", "live-stale");
    e.removeAttribute("data-live-state");
    e.removeAttribute("title");
  };

  Page.prototype.mark = function (e, state, title) {
    e.classList.remove("live-changed", "live-stale");
    e.classList.add(state === "changed" ? "live-changed" : "live-stale");
    e.setAttribute("data-live-state", state);
    e.setAttribute("title", title);
  };

  Page.prototype.apply = function (push) {
    var t0 = performance.now(), self = this, s = this.state;
    var committed = this.isCommitted(), h = fieldsFor(s.acc, s.set);
    var accName = D.accelerators[s.acc].name, runName = D.accelerators[P.run].name;
    var cache = {}, changed = 0, stale = 0, why = {};
    var parts = { run: P.run, get: function (k) { return cache["@" + k] ||
      (cache["@" + k] = fieldsFor(k, {})); } };
    var cmd = this.command();
    this.results.forEach(function (r) {
      var e = r.el, info = r.info;
      if (committed) { self.restore(e); return; }
      if (info.kind === "live") {
        var x = r.name in cache ? cache[r.name] : (cache[r.name] = value(info.headline, h));
        if (x == null || !isFinite(x)) {
          self.restore(e);
          self.mark(e, "rerun", "unbounded or undefined for these inputs: the chapter says " +
            "so in words; needs a re-run: " + cmd);
          stale++; why[r.name] = "unbounded for these inputs";
          return;
        }
        var txt = text(info.headline, x);
        e.textContent = txt;
        if (txt !== self.committed.get(e)) {
          self.mark(e, "changed", "recomputed for " + accName + "; the committed page (" +
            runName + ") reads " + self.committed.get(e));
          changed++;
        } else {
          e.classList.remove("live-changed", "live-stale");
          e.setAttribute("data-live-state", "same");
          e.removeAttribute("title");
        }
      } else {
        self.restore(e);
        self.mark(e, "rerun", "needs a re-run (" + info.why + "): " + cmd);
        stale++; why[r.name] = info.why;
      }
    });
    var verdictCache = {};
    this.claims.forEach(function (c) {
      var e = c.el, info = P.claims[c.id];
      if (committed || !D.rules[c.id]) { self.restore(e); if (c.kind === "badge") e.className = c.cls; return; }
      var label = c.id in verdictCache ? verdictCache[c.id] :
        (verdictCache[c.id] = verdictFor(c.id, h, parts));
      if (label == null) {
        self.restore(e);
        self.mark(e, "rerun", "needs a re-run: " + cmd);
        return;
      }
      var txt = label;
      if (c.kind === "glue" && label === info.verdict && info.caveat) txt = label + " (" + info.caveat + ")";
      if (c.kind === "glue" && label !== info.verdict && label === "holds with caveat") {
        txt = label + " (the caveat needs a re-run)";
      }
      if (c.kind === "cell" || c.kind === "badge") txt = label;
      e.textContent = txt;
      if (c.kind === "badge") {
        e.className = c.cls.replace(/\bverdict-\w+/, "verdict-" + (KIND_CLASS[label] || "off"));
      }
      if (label !== info.verdict) {
        self.mark(e, "changed", "recomputed for " + accName + "; the committed page (" +
          runName + ") reads " + info.verdict);
      } else {
        e.classList.remove("live-changed", "live-stale");
        e.setAttribute("data-live-state", "same");
        e.removeAttribute("title");
      }
    });
    // the answer box: a live claim's line quotes its committed derived number in words
    this.claims.forEach(function (c) {
      var line = c.kind === "badge" && followsRun(c.id) ? c.el.parentElement : null;
      if (!line) return;
      line.classList.toggle("live-stale-line", !committed);
      if (committed) line.removeAttribute("title");
      else line.setAttribute("title", "the number in words is the committed page's; a re-run " +
        "recomputes it: " + cmd);
    });
    this.derivedCells.forEach(function (c) {
      self.restore(c.el);
      if (!committed) self.mark(c.el, "rerun", "the derived number in words needs a re-run: " + cmd);
    });
    this.nameEls.forEach(function (e) {
      if (committed) { self.restore(e); return; }
      e.textContent = accName + (Object.keys(s.set).length ? " with the inputs set above" : "");
      self.mark(e, "changed", "the committed page is for " + runName);
    });
    if (committed) {
      this.status.textContent = "The committed page: every number is for " + runName + ".";
      this.rerunBox.hidden = true;
    } else {
      this.status.textContent = changed + " value" + (changed === 1 ? "" : "s") +
        " recomputed for " + accName + (Object.keys(s.set).length ? " (edited)" : "") +
        "; " + stale + " need" + (stale === 1 ? "s" : "") + " a re-run.";
      this.rerunBox.hidden = stale === 0;
      this.rerunBox.textContent = "";
      if (stale) {
        this.rerunBox.appendChild(document.createTextNode("† To recompute the rest, run "));
        this.rerunBox.appendChild(el("code", { "data-live-command": "" }, cmd));
      }
    }
    if (push) this.toUrl();
    this.lastMs = performance.now() - t0;
    L.lastMs = this.lastMs;
    document.documentElement.setAttribute("data-live-ready", committed ? "committed" : "live");
  };

  Page.prototype.reset = function () {
    this.state = { acc: P.run, set: {} };
    this.fillInputs();
    this.apply(true);
  };

  Page.prototype.toUrl = function () {
    try {
      var u = new URL(window.location.href), q = u.searchParams, s = this.state;
      Array.from(q.keys()).forEach(function (k) { if (k === "live" || k.indexOf("live.") === 0) q.delete(k); });
      if (!this.isCommitted()) {
        q.set("live", s.acc);
        Object.keys(s.set).sort().forEach(function (n) { q.set("live." + n, String(s.set[n])); });
      }
      window.history.replaceState(null, "", u.toString());
    } catch (e) { /* a browser that refuses: the page still works */ }
  };

  Page.prototype.fromUrl = function () {
    var q = new URL(window.location.href).searchParams, acc = q.get("live"), self = this;
    if (acc === null) { this.apply(false); return; }
    if (!D.accelerators[acc]) {
      this.apply(false);
      this.status.textContent = "The link names an accelerator this book does not catalog; " +
        "showing the committed page.";
      return;
    }
    this.state = { acc: acc, set: {} };
    this.fillInputs();
    var any = false;
    Object.keys(this.inputs).forEach(function (n) {
      var v = q.get("live." + n);
      if (v !== null) { self.inputs[n].input.value = v; any = true; }
    });
    if (any) this.more.open = true;
    if (!any) { this.apply(false); return; }
    if (!this.edited()) {            // the link's part, without its unusable values
      this.state = { acc: acc, set: {} };
      this.apply(false);
      this.status.textContent += " A value in the link is not usable (see the field above); " +
        "it was not applied.";
    }
  };

  L.recomputeAll = function () {   // the benchmark: one full recompute of the page, in ms
    var t0 = performance.now();
    L.page.apply(false);
    return performance.now() - t0;
  };

  function start() { L.page = new Page(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.LIVE = window.LIVE || {});
