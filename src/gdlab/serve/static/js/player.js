// Play / pause / step through frames (steps of a descent, snapshots of a training run).

export class Player {
  constructor({ play, step, frame, label, speed }) {
    Object.assign(this, { playButton: play, stepButton: step, slider: frame, label, speed });
    this.frames = 1;
    this.index = 0;
    this.timer = null;
    this.render = () => {};
    this.describe = (i) => `${i}`;
    this.stepsPerFrame = 1;
    play.addEventListener('click', () => (this.timer ? this.pause() : this.play()));
    step.addEventListener('click', () => { this.pause(); this.show(Math.min(this.index + 1, this.frames - 1)); });
    frame.addEventListener('input', () => { this.pause(); this.show(Number(frame.value)); });
  }

  // a new set of frames; `atEnd` shows the last one at once (a control was moved)
  load(frames, render, describe, { atEnd = false, stepsPerFrame = 1 } = {}) {
    this.pause();
    this.frames = Math.max(1, frames);
    this.render = render;
    this.describe = describe;
    this.stepsPerFrame = stepsPerFrame;
    this.slider.max = String(this.frames - 1);
    this.show(atEnd ? this.frames - 1 : 0);
    if (!atEnd && this.frames > 1) this.play();
  }

  show(i) {
    this.index = Math.max(0, Math.min(i, this.frames - 1));
    this.slider.value = String(this.index);
    this.label.textContent = this.describe(this.index);
    this.render(this.index);
  }

  play() {
    if (this.index >= this.frames - 1) this.show(0);
    this.playButton.textContent = 'Pause';
    let last = performance.now();
    let carry = 0;
    const tick = (now) => {
      const rate = Number(this.speed.value) / this.stepsPerFrame;   // frames per second
      carry += ((now - last) / 1000) * rate;
      last = now;
      const advance = Math.floor(carry);
      if (advance > 0) {
        carry -= advance;
        this.show(Math.min(this.index + advance, this.frames - 1));
      }
      if (this.index >= this.frames - 1) { this.pause(); return; }
      this.timer = requestAnimationFrame(tick);
    };
    this.timer = requestAnimationFrame(tick);
  }

  pause() {
    if (this.timer) cancelAnimationFrame(this.timer);
    this.timer = null;
    this.playButton.textContent = 'Play';
  }
}
