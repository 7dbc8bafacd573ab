// raceroute timeline: draws the stories laid out by package timeline
// (timeline/html.go documents the data's arrays). No network, no library.
(function () {
  'use strict';
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById('rr-data').textContent);
  var S = D.strings;
  var LANE = 30, AXIS = 28, NS = 'http://www.w3.org/2000/svg';
  // event fields
  var X = 0, T = 1, LN = 2, OBJ = 3, REL = 4, LBL = 5, OP = 6, TXT = 7, WHY = 8, HOST = 9, ST = 10, OUT = 11;
  var tip = document.getElementById('rr-tip');
  var main = document.getElementById('rr-main');
  var timelines = [];
  var active = null;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function secs(ms) { return (ms / 1000).toFixed(3); }
  function pct(x) { return (100 * x).toFixed(x < 0.1 ? 1 : 0) + ' %'; }
  function r1(x) { return Math.round(x * 10) / 10; }

  // --- one timeline ----------------------------------------------------
  function Timeline(host, story) {
    this.s = story;
    this.zoom = 1;
    this.sel = -1;
    this.id = timelines.length;
    timelines.push(this);
    var nEv = story.events.length;
    host.innerHTML =
      '<div class="tl-wrap" data-timeline="' + this.id + '">' +
      '<div class="tl-tools"><button data-z="out" title="zoom out (-)">&minus;</button>' +
      '<button data-z="in" title="zoom in (+)">+</button><button data-z="fit" title="fit to width (f)">fit</button>' +
      '<button data-z="one" title="zoom 1:1 (0)">1:1</button><span class="zoomlevel"></span>' +
      '<span>' + nEv + ' events, ' + story.lanes.length + ' lanes; ' +
      (story.timed ? 'placed by time (close events pushed apart)' : 'untimed: one column per step') +
      '. Keys + &minus; 0 f zoom, &larr; &rarr; step through events; Ctrl+wheel zooms; hover for the kernel\'s reason.</span></div>' +
      '<div class="tl-grid"><div class="tl-main" tabindex="0"><div class="tl-labels"></div><div class="tl-scroll"></div></div>' +
      '<div class="side"><h4>events and the kernel\'s reasons</h4><ol></ol></div></div>' +
      legend() + '</div>';
    this.root = host.firstChild;
    this.scroller = this.root.querySelector('.tl-scroll');
    this.list = this.root.querySelector('.side ol');
    this.level = this.root.querySelector('.zoomlevel');
    this.labels();
    this.sideList();
    // A short story fills the width it has; a long one starts at 1:1.
    var room = this.scroller.clientWidth - 4;
    if (room > story.width) this.zoom = Math.min(room / story.width, 4);
    this.draw();
    this.wire();
  }

  function legend() {
    var ls = [['ROUTE', 'route'], ['RTCAH', 'route-cache clone'], ['LOOKUP', 'lookup'], ['NEIGH', 'neighbour entry'],
      ['ARP', 'ARP frame'], ['PKT', 'packet'], ['TCP', 'TCP ACK'], ['TIMER', 'kernel timer']];
    var h = '<div class="legend">';
    ls.forEach(function (l) { h += '<span><i class="lg l-' + l[0] + '"></i>' + l[1] + '</span>'; });
    h += '<span><i style="border:2px solid #c62828;background:#fff"></i>ignored / refused by the kernel</span>' +
      '<span><i style="background:#546e7a;border:2px solid #c62828"></i>packet lost</span>' +
      '<span><i class="sq" style="background:rgba(229,57,53,.3)"></i>unlocked: lookup holds no lock</span>' +
      '<span><i class="sq" style="background:rgba(103,58,183,.3)"></i>locktime: ARP cannot override</span>' +
      '<span>&#x2192; dashed arrow: the route a clone shadows, the confirmation a packet consumed</span></div>';
    return h.replace(/class="lg l-(\w+)"/g, function (m, l) { return 'style="background:' + labelColour(l) + '"'; });
  }
  function labelColour(l) {
    return { ROUTE: '#1e88e5', RTCAH: '#d81b60', LOOKUP: '#00897b', NEIGH: '#43a047', ARP: '#fb8c00', PKT: '#546e7a', TCP: '#8e24aa', TIMER: '#6d4c41' }[l];
  }

  Timeline.prototype.labels = function () {
    var h = '<div class="axis-spacer">' + (this.s.timed ? 'time (s)' : 'step') + '</div>';
    var firstObj = true;
    this.s.lanes.forEach(function (l, i) {
      var kind = S[l[1]], cls = 'lane-label k-' + kind;
      if (kind !== 'actor' && firstObj) { cls += ' first-object'; firstObj = false; }
      h += '<div class="' + cls + '" data-lane="' + i + '" data-kind="' + kind + '" title="' + esc(S[l[0]]) + ' (' + kind + ')">' + esc(S[l[0]]) + '</div>';
    });
    this.root.querySelector('.tl-labels').innerHTML = h;
  };

  Timeline.prototype.sideList = function () {
    var s = this.s, h = [];
    for (var i = 0; i < s.events.length; i++) {
      var e = s.events[i], out = S[e[OUT]];
      h.push('<li data-i="' + i + '"' + (out ? ' class="o-' + out + '"' : '') + '>' +
        '<span class="t">' + (s.timed ? 't=' + secs(e[T]) : '#' + (i + 1)) + '</span>' +
        '<span class="who">' + esc(S[s.lanes[e[LN]][0]]) + '</span>' +
        '<span class="lbl">[' + esc(S[e[LBL]]) + ']' + esc(S[e[OP]]) + '</span>' +
        '<span class="txt">' + esc(S[e[TXT]]) + '</span>' +
        (S[e[WHY]] ? '<span class="why">' + esc(S[e[WHY]]) + '</span>' : '') + '</li>');
    }
    this.list.innerHTML = h.join('');
  };

  Timeline.prototype.y = function (lane) { return AXIS + lane * LANE; };

  // draw draws what is in view, and a viewport's width either side: a
  // long story's lanes hold thousands of events, and the browser then
  // lays out only a few hundred. Scrolling draws again (scroll, below).
  Timeline.prototype.draw = function () {
    var s = this.s, z = this.zoom, self = this;
    var W = Math.max(Math.ceil(s.width * z), 200), H = AXIS + s.lanes.length * LANE;
    if (this.zoomed !== z) this.rezoom();
    var vw = Math.max(this.scroller.clientWidth, 600), left = this.scroller.scrollLeft;
    var lo = (left - 1.5 * vw) / z, hi = (left + 2.5 * vw) / z;
    this.drawnLo = lo;
    this.drawnHi = hi;
    var h = ['<svg xmlns="' + NS + '" class="tl" width="' + W + '" height="' + H + '">'];
    var firstObj = -1;
    s.lanes.forEach(function (l, i) {
      var kind = S[l[1]];
      if (kind !== 'actor' && firstObj < 0) firstObj = i;
      h.push('<rect class="lane-bg k-' + kind + (i % 2 ? ' odd' : '') + '" data-lane="' + i + '" x="0" y="' + self.y(i) + '" width="' + W + '" height="' + LANE + '"/>');
    });
    if (firstObj > 0) h.push('<line class="objsep" x1="0" x2="' + W + '" y1="' + this.y(firstObj) + '" y2="' + this.y(firstObj) + '"/>');
    // state bands along the objects' lanes
    s.bands.forEach(function (b, i) {
      if (b[2] < lo || b[1] > hi) return;
      var x0 = b[1] * z, w = Math.max(b[2] * z - x0, 1), y = self.y(b[0]) + 11;
      h.push('<rect class="band ' + S[b[4]] + '" data-b="' + i + '" x="' + r1(x0) + '" y="' + y + '" width="' + r1(w) + '" height="' + (LANE - 13) + '"/>');
      if (w > 50) {
        var tx = Math.max(x0, left - vw) + 8; // the state's name stays in view on a long band
        h.push('<text class="band-t" x="' + r1(tx) + '" y="' + (y + LANE - 17) + '">' + esc(clip(S[b[3]], (x0 + w - tx - 2) / 6)) + '</text>');
      }
    });
    // windows: across an actor's lane; along the top of an object's,
    // above its state
    s.windows.forEach(function (w, i) {
      if (w[2] < lo || w[1] > hi) return;
      var name = S[w[3]], cls = name === 'unlocked' || name === 'locktime' ? 'w-' + name : 'other';
      var onObj = S[s.lanes[w[0]][1]] === 'object';
      var x0 = w[1] * z, ww = Math.max(w[2] * z - x0, 2), y = self.y(w[0]) + (onObj ? 1 : 2), hh = onObj ? 10 : LANE - 4;
      h.push('<rect class="win ' + cls + (w[6] ? ' open' : '') + (w[7] ? ' cut' : '') + '" data-w="' + i + '" data-name="' + esc(name) +
        '" data-lane="' + w[0] + '" x="' + r1(x0) + '" y="' + y + '" width="' + r1(ww) + '" height="' + hh + '" rx="2"/>');
      var label = name + (w[7] ? ' (slid)' : '');
      if (ww > label.length * 5.6 + 6) h.push('<text class="win-t ' + cls + '" x="' + r1(x0 + 3) + '" y="' + (onObj ? y + 8.5 : y + LANE - 7) + '">' + esc(label) + '</text>');
    });
    // the events in range: [first, last)
    var first = lowerBound(s.events, lo), last = lowerBound(s.events, hi), i, e, ex, ay;
    h.push('<rect class="axis" x="0" y="0" width="' + W + '" height="' + (AXIS - 1) + '"/>');
    this.ticks.forEach(function (i) {
      if (i < first || i >= last) return;
      var x = r1(s.events[i][X] * z);
      h.push('<line class="tick" x1="' + x + '" x2="' + x + '" y1="' + (AXIS - 7) + '" y2="' + H + '"/>' +
        '<text class="tick-t" x="' + r1(x + 2) + '" y="' + (AXIS - 10) + '">' + (s.timed ? secs(s.events[i][T]) : '#' + (i + 1)) + '</text>');
    });
    // connectors: event to its object, object to the related object
    var mid = LANE / 2;
    for (i = first; i < last; i++) {
      e = s.events[i];
      ex = r1(e[X] * z);
      ay = this.y(e[LN]) + mid;
      if (e[OBJ] >= 0) h.push('<line class="conn" x1="' + ex + '" x2="' + ex + '" y1="' + ay + '" y2="' + (this.y(e[OBJ]) + mid) + '"/>');
      if (e[REL] >= 0) {
        var fy = (e[OBJ] >= 0 ? this.y(e[OBJ]) : this.y(e[LN])) + mid, ty = this.y(e[REL]) + mid;
        var d = ty > fy ? -7 : 7;
        h.push('<path class="rel" data-i="' + i + '" d="M' + (ex + 5) + ' ' + fy + ' Q' + (ex + 22) + ' ' + r1((fy + ty) / 2) + ' ' + (ex + 5) + ' ' + (ty + d) + '"/>');
      }
    }
    // markers, and a label where the lane has room for it
    for (i = first; i < last; i++) {
      e = s.events[i];
      ex = r1(e[X] * z);
      var lbl = S[e[LBL]], out = S[e[OUT]];
      ay = this.y(e[LN]) + mid;
      var g = '<g class="ev l-' + esc(lbl) + (out ? ' o-' + out : '') + (i === this.sel ? ' hl' : '') + '" data-i="' + i + '" data-label="' + esc(lbl) + '" data-op="' + esc(S[e[OP]]) + '">' +
        '<circle class="mk" cx="' + ex + '" cy="' + ay + '" r="6"/>';
      if (e[OBJ] >= 0) {
        var oy = this.y(e[OBJ]) + mid;
        g += '<rect class="om" x="' + (ex - 5) + '" y="' + (oy - 5) + '" width="10" height="10" transform="rotate(45 ' + ex + ' ' + oy + ')"/>';
      }
      h.push(g + '</g>');
      if (this.room[i]) h.push('<text class="ev-t" x="' + (ex + 8) + '" y="' + (ay - 6) + '">' + esc(lbl + S[e[OP]]) + '</text>');
    }
    ex = this.sel >= 0 ? r1(s.events[this.sel][X] * z) : -10;
    h.push('<line class="selx" x1="' + ex + '" x2="' + ex + '" y1="' + AXIS + '" y2="' + H + '"/>');
    h.push('</svg>');
    this.scroller.innerHTML = h.join('');
    this.scroller.scrollLeft = left;
    this.level.textContent = Math.round(z * 100) + ' %';
  };

  // rezoom works out, once per zoom level, which events get an axis tick
  // (one whenever there is room for its label) and which a label beside
  // their marker (when the next event on their lane is far enough).
  Timeline.prototype.rezoom = function () {
    var s = this.s, z = this.zoom, ticks = [], room = new Array(s.events.length), seen = {}, lastTick = -1e9;
    for (var i = 0; i < s.events.length; i++) {
      var x = s.events[i][X] * z;
      if (x - lastTick >= 70) { ticks.push(i); lastTick = x; }
    }
    for (i = s.events.length - 1; i >= 0; i--) {
      var l = s.events[i][LN];
      room[i] = (l in seen ? seen[l] : Infinity) - s.events[i][X] * z > 64;
      seen[l] = s.events[i][X] * z;
    }
    this.ticks = ticks;
    this.room = room;
    this.zoomed = z;
  };

  // scroll draws again once the view nears the edge of what is drawn.
  Timeline.prototype.scroll = function () {
    var z = this.zoom, left = this.scroller.scrollLeft / z, right = (this.scroller.scrollLeft + this.scroller.clientWidth) / z;
    var margin = this.scroller.clientWidth / z;
    if ((left - this.drawnLo < margin && this.drawnLo > 0) || (this.drawnHi - right < margin && this.drawnHi < this.s.width)) this.draw();
  };

  // lowerBound is the first event at or after x (zoom 1).
  function lowerBound(events, x) {
    var a = 0, b = events.length;
    while (a < b) {
      var m = (a + b) >> 1;
      if (events[m][X] < x) a = m + 1; else b = m;
    }
    return a;
  }

  function clip(text, n) { n = Math.max(4, Math.floor(n)); return text.length > n ? text.slice(0, n - 1) + '\u2026' : text; }

  Timeline.prototype.fitZoom = function () {
    return Math.min(1, Math.max(this.scroller.clientWidth - 10, 100) / this.s.width);
  };
  Timeline.prototype.setZoom = function (z, clientX) {
    var rect = this.scroller.getBoundingClientRect();
    var ax = clientX === undefined ? rect.width / 2 : clientX - rect.left;
    var u = (this.scroller.scrollLeft + ax) / this.zoom;
    this.zoom = Math.min(Math.max(z, this.fitZoom() * 0.5, 0.002), 40);
    this.scroller.firstChild.setAttribute('width', Math.max(Math.ceil(this.s.width * this.zoom), 200));
    this.scroller.scrollLeft = u * this.zoom - ax;
    this.draw();
  };
  Timeline.prototype.select = function (i, scroll) {
    if (i < 0 || i >= this.s.events.length) return;
    var old = this.list.querySelector('li.hl');
    if (old) old.classList.remove('hl');
    this.sel = i;
    var li = this.list.children[i];
    li.classList.add('hl');
    var x = this.s.events[i][X] * this.zoom, sc = this.scroller;
    if (scroll && (x < sc.scrollLeft + 40 || x > sc.scrollLeft + sc.clientWidth - 40)) sc.scrollLeft = x - sc.clientWidth / 2;
    var svg = sc.firstChild, g = svg.querySelector('g.ev.hl'), mk = svg.querySelector('g.ev[data-i="' + i + '"]');
    if (!mk) {
      this.draw();
    } else {
      if (g) g.classList.remove('hl');
      mk.classList.add('hl');
      var line = svg.querySelector('.selx');
      line.setAttribute('x1', r1(x));
      line.setAttribute('x2', r1(x));
    }
    if (scroll) {
      var box = li.parentNode.parentNode;
      if (li.offsetTop < box.scrollTop + 24 || li.offsetTop > box.scrollTop + box.clientHeight - 40) box.scrollTop = li.offsetTop - box.clientHeight / 2;
    }
  };

  Timeline.prototype.describe = function (el) {
    var s = this.s;
    if (el.hasAttribute('data-i')) {
      var e = s.events[+el.getAttribute('data-i')];
      var h = '<b>' + (s.timed ? 't=' + secs(e[T]) + ' s ' : 'step ' + (+el.getAttribute('data-i') + 1) + ' ') + '</b>' +
        esc(S[s.lanes[e[LN]][0]]) + (S[e[HOST]] ? ' on ' + esc(S[e[HOST]]) : '') +
        '<br><code>[' + esc(S[e[LBL]]) + ']' + esc(S[e[OP]]) + ' ' + esc(S[e[TXT]]) + '</code>';
      if (S[e[WHY]]) h += '<span class="why">' + esc(S[e[WHY]]) + '</span>';
      if (S[e[OUT]]) h += '<span class="why">(' + esc(S[e[OUT]]) + ')</span>';
      if (e[OBJ] >= 0) h += '<span class="st">' + esc(S[s.lanes[e[OBJ]][0]]) + (S[e[ST]] ? ' is now: ' + esc(S[e[ST]]) : '') + '</span>';
      if (e[REL] >= 0) h += '<span class="st">&#x2192; ' + esc(S[s.lanes[e[REL]][0]]) + '</span>';
      return h;
    }
    if (el.hasAttribute('data-b')) {
      var b = s.bands[+el.getAttribute('data-b')];
      return esc(S[s.lanes[b[0]][0]]) + ':<br><code>' + esc(S[b[3]]) + '</code>';
    }
    if (el.hasAttribute('data-w')) {
      var w = s.windows[+el.getAttribute('data-w')], name = S[w[3]];
      var what = name === 'unlocked' ? 'the lookup holds no lock: matched under the read lock, the clone is inserted under the write lock at the end; any change in between goes unseen by it'
        : name === 'locktime' ? 'within locktime of the entry\'s last update, arp_process() lets no ARP packet override the lladdr (unless it is a recognised gratuitous ARP)' : name;
      var when = s.timed ? ' from t=' + secs(w[4]) + (w[5] >= 0 ? ' to ' + secs(w[5]) : '') : '';
      return '<b>' + esc(name) + '</b>' + when + (w[7] ? ' (slid: an update inside it moved its start)' : '') + (w[6] ? ' (still open at the end)' : '') + '<br>' + esc(what);
    }
    return '';
  };

  Timeline.prototype.wire = function () {
    var self = this, svgBox = this.scroller, m = this.root.querySelector('.tl-main');
    function show(ev) {
      var el = ev.target.closest('[data-i],[data-b],[data-w]');
      if (!el || !svgBox.contains(el)) { tip.hidden = true; return; }
      tip.innerHTML = self.describe(el);
      tip.hidden = false;
      var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8), y = ev.clientY + 16;
      if (y + tip.offsetHeight > window.innerHeight - 4) y = ev.clientY - tip.offsetHeight - 10;
      tip.style.left = x + 'px';
      tip.style.top = y + 'px';
      if (el.hasAttribute('data-i')) {
        var li = self.list.querySelector('li.hl');
        if (li) li.classList.remove('hl');
        self.list.children[+el.getAttribute('data-i')].classList.add('hl');
      }
    }
    svgBox.addEventListener('mousemove', function (ev) { active = self; show(ev); });
    svgBox.addEventListener('mouseleave', function () { tip.hidden = true; });
    var pending = false;
    svgBox.addEventListener('scroll', function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; self.scroll(); });
    });
    svgBox.addEventListener('click', function (ev) {
      var el = ev.target.closest('[data-i]');
      if (el) self.select(+el.getAttribute('data-i'), true);
    });
    this.list.addEventListener('click', function (ev) {
      var li = ev.target.closest('li');
      if (li) { active = self; self.select(+li.getAttribute('data-i'), true); }
    });
    this.root.querySelector('.tl-tools').addEventListener('click', function (ev) {
      var b = ev.target.closest('button');
      if (!b) return;
      active = self;
      var z = { 'in': self.zoom * 1.5, out: self.zoom / 1.5, fit: self.fitZoom(), one: 1 }[b.getAttribute('data-z')];
      self.setZoom(z);
    });
    m.addEventListener('focus', function () { active = self; });
    m.addEventListener('wheel', function (ev) {
      if (!ev.ctrlKey) return;
      ev.preventDefault();
      active = self;
      self.setZoom(self.zoom * Math.pow(1.0015, -ev.deltaY), ev.clientX);
    }, { passive: false });
  };

  document.addEventListener('keydown', function (ev) {
    var tl = active;
    if (!tl || ev.ctrlKey || ev.metaKey || ev.altKey || /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) return;
    var k = ev.key, done = true;
    if (k === '+' || k === '=') tl.setZoom(tl.zoom * 1.5);
    else if (k === '-' || k === '_') tl.setZoom(tl.zoom / 1.5);
    else if (k === '0') tl.setZoom(1);
    else if (k === 'f') tl.setZoom(tl.fitZoom());
    else if (k === 'ArrowRight') tl.select(tl.sel + 1, true);
    else if (k === 'ArrowLeft') tl.select(Math.max(tl.sel - 1, 0), true);
    else done = false;
    if (done) ev.preventDefault();
  });

  // --- reports ---------------------------------------------------------
  function ratesChart(rates) {
    if (!rates || !rates.length) return '';
    var longest = rates.reduce(function (n, r) { return Math.max(n, r.kernel.length); }, 0);
    var lw = Math.min(longest * 6.4 + 12, 420), bw = 320, rh = 18, H = 20 + rates.length * rh, W = lw + bw + 330;
    var h = '<div class="rates"><svg class="chart" width="' + W + '" height="' + H + '" role="img" aria-label="failure rate per kernel with 95 % interval">';
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      h += '<text class="ax" x="' + (lw + v * bw - 8) + '" y="11">' + (v * 100) + '%</text>';
    });
    rates.forEach(function (r, i) {
      var y = 16 + i * rh, cy = y + rh / 2, zero = r.failures === 0 ? ' zero' : '';
      h += '<text x="0" y="' + (cy + 4) + '">' + esc(r.kernel) + '</text>' +
        '<rect class="bar-bg" x="' + lw + '" y="' + (cy - 3) + '" width="' + bw + '" height="6" rx="3"/>' +
        '<line class="ci' + zero + '" x1="' + r1(lw + r.low * bw) + '" x2="' + r1(lw + r.high * bw) + '" y1="' + cy + '" y2="' + cy + '"/>' +
        '<line class="ci-end' + zero + '" x1="' + r1(lw + r.low * bw) + '" x2="' + r1(lw + r.low * bw) + '" y1="' + (cy - 5) + '" y2="' + (cy + 5) + '"/>' +
        '<line class="ci-end' + zero + '" x1="' + r1(lw + r.high * bw) + '" x2="' + r1(lw + r.high * bw) + '" y1="' + (cy - 5) + '" y2="' + (cy + 5) + '"/>' +
        '<circle class="pt' + zero + '" cx="' + r1(lw + r.rate * bw) + '" cy="' + cy + '" r="4"/>' +
        '<text x="' + (lw + bw + 10) + '" y="' + (cy + 4) + '">' + r.failures + ' of ' + r.runs + ': ' + pct(r.rate) + ' (95 % CI ' + pct(r.low) + ' to ' + pct(r.high) + ')</text>';
    });
    return h + '</svg></div>';
  }

  function reportHTML(r) {
    var h = '<section class="report v-' + esc(r.verdict) + '" id="' + esc(r.id) + '" data-verdict="' + esc(r.verdict) + '">' +
      '<h3>' + esc(r.title) + ' <span class="badge' + (r.match ? '' : ' mismatch') + '">' + esc(r.headline) + '</span></h3>';
    var k = r.kernel;
    if (k && k.name) {
      h += '<div class="kernel"><b>kernel profile</b> <code>' + esc(k.name) + '</code>' + (k.summary ? ': ' + esc(k.summary) : '');
      if (k.settings && k.settings.length) h += '<details><summary>settings</summary><code>' + esc(k.settings.join('\n')) + '</code></details>';
      h += '</div>';
    }
    if (r.scope) h += '<div class="scope">' + esc(r.scope) + '</div>';
    var told = {};
    r.properties.forEach(function (p) {
      if (p.verdict === 'violated') {
        h += '<div class="violation" data-property="' + esc(p.name) + '"><div class="what">property ' + esc(p.name) + ' (' + esc(p.kind) + ') violated' +
          (p.rate ? ' ' + esc(p.rate) : '') + '</div><p>' + esc(p.explanation) + '</p></div>';
        if (p.replay) h += '<div class="replay"><b>replay:</b> <code>raceroute replay ' + esc(p.replay) + '</code></div>';
        if (p.story >= 0) {
          if (p.story in told) h += '<div class="scope">story: the same as for ' + esc(told[p.story]) + ' above</div>';
          else { told[p.story] = p.name; h += '<div class="story" data-story="' + p.story + '"></div>'; }
        }
      } else {
        h += '<div class="holdsline' + (p.verdict === 'holds' ? '' : ' unknown') + '">property ' + esc(p.name) + ' (' + esc(p.kind) + ') ' + esc(p.verdict) +
          (p.rate ? ' ' + esc(p.rate) : '') + ': <span>' + esc(p.explanation) + '</span></div>';
        if (p.story >= 0) h += '<div class="story" data-story="' + p.story + '"></div>';
      }
    });
    return h + '</section>';
  }

  function drawStories(root) {
    root.querySelectorAll('.story[data-story]').forEach(function (el) {
      new Timeline(el, D.stories[+el.getAttribute('data-story')]);
    });
  }

  function groupHTML(g, reports) {
    return '<section class="group"><h2>' + esc(g.name) + '</h2>' + (g.description ? '<p class="desc">' + esc(g.description) + '</p>' : '') +
      ratesChart(g.rates) + reports.map(reportHTML).join('') + '</section>';
  }

  // --- the matrix --------------------------------------------------------
  var byID = {};
  D.groups.forEach(function (g) { g.reports.forEach(function (r) { byID[r.id] = { group: g, report: r }; }); });

  function cellClass(text) {
    var t = text.replace(/!$/, '');
    var c = /^\d+%$/.test(t) ? 'c-rate' : t === 'holds*' ? 'c-sampled' : /^holds/.test(t) ? 'c-holds' : 'c-' + t;
    return c + (/!$/.test(text) ? ' c-mismatch' : '');
  }

  function matrixHTML(m) {
    var h = '<table class="matrix"><thead><tr><th>scenario</th>';
    m.columns.forEach(function (c) { h += '<th class="col" title="' + esc(c.kernels.join(', ')) + '">' + esc(c.label) + '</th>'; });
    h += '</tr></thead><tbody>';
    m.rows.forEach(function (row) {
      h += '<tr><td class="sc">' + esc(row.scenario) + '</td>';
      row.cells.forEach(function (c) {
        var target = c.reports[0];
        h += '<td class="cell ' + cellClass(c.text) + '" data-text="' + esc(c.text) + '">' +
          (target ? '<a href="#' + esc(target) + '" title="' + esc(row.scenario + ' on ' + byID[target].report.kernel.name) + '">' + esc(c.text) + '</a>' : esc(c.text)) + '</td>';
      });
      h += '</tr>';
    });
    h += '</tbody></table><div class="mx-notes">' + esc(m.summary) + '\n' + esc(m.legend.join('\n')) + '</div><div id="rr-view"></div>';
    return h;
  }

  function showReport(id) {
    var view = document.getElementById('rr-view'), hit = byID[id];
    document.querySelectorAll('td.cell.current').forEach(function (td) { td.classList.remove('current'); });
    if (!hit) { view.innerHTML = ''; return; }
    var cell = null;
    document.querySelectorAll('td.cell a').forEach(function (a) { if (a.getAttribute('href') === '#' + id) cell = a.parentNode; });
    var also = '';
    if (cell) {
      cell.classList.add('current');
      var row = D.matrix.rows[cell.parentNode.rowIndex - 1], c = row.cells[cell.cellIndex - 1];
      if (c.reports.length > 1) {
        also = '<p class="also">this cell also stands for: ' + c.reports.slice(1).map(function (o) {
          return '<a href="#' + esc(o) + '">' + esc(byID[o].report.kernel.name) + '</a>';
        }).join('') + '</p>';
      }
    }
    timelines.length = 0;
    view.innerHTML = groupHTML(hit.group, [hit.report]) + also;
    drawStories(view);
    var sec = document.getElementById(id);
    if (sec) sec.scrollIntoView();
  }

  // --- the page ------------------------------------------------------------
  if (D.matrix) {
    main.innerHTML = matrixHTML(D.matrix);
    window.addEventListener('hashchange', function () { showReport(location.hash.slice(1)); });
    if (location.hash) showReport(location.hash.slice(1));
  } else {
    main.innerHTML = D.groups.map(function (g) { return groupHTML(g, g.reports); }).join('');
    drawStories(main);
  }
  if (timelines.length) active = timelines[0];
  // one arrow head for every timeline's "shadows" and "consumed" arrows
  var defs = document.createElementNS(NS, 'svg');
  defs.setAttribute('width', '0');
  defs.setAttribute('height', '0');
  defs.style.position = 'absolute';
  defs.innerHTML = '<defs><marker id="rr-arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#d84315"/></marker></defs>';
  document.body.appendChild(defs);

  // Drawn: what the tests and bench/timeline read, after layout and the
  // next frame.
  void document.body.offsetHeight;
  var built = performance.now();
  window.raceroute = { timelines: timelines, buildMs: built - t0, drawnMs: -1, showReport: showReport };
  requestAnimationFrame(function () {
    requestAnimationFrame(function () {
      window.raceroute.drawnMs = performance.now();
      document.documentElement.setAttribute('data-drawn', String(Math.round(window.raceroute.drawnMs)));
    });
  });
})();
