package main

import (
	"fmt"
	"time"
)

// memSample is one reading of the bridge process's memory.
type memSample struct {
	at        time.Duration // since traffic started
	live, rss uint64
	calls     int // calls the engine tracked at the time
}

// memVerdict says whether the bridge's live heap stayed flat once warm.
type memVerdict struct {
	samples         int
	mean            float64 // mean live heap after the warm-up, bytes
	min, max        uint64
	slopePerMin     float64 // least-squares slope, bytes per minute
	growth          float64 // slope × the measured window, bytes
	growthRatio     float64 // growth / mean
	flat            bool
	warmup, measure time.Duration
}

// Flatness rule: after the warm-up, the least-squares trend of the live
// heap over the measured window must add less than maxGrowth of its mean
// (or less than floorBytes, for heaps so small that a ratio is noise).
// A trend rather than end minus start, because each failover lifts the
// heap for a moment (snapshots of every call, buffered events) and a
// sample taken just then would decide the verdict on its own.
const floorBytes = 4 << 20

// A trend over less than a few minutes (a few failovers) says nothing:
// one failover's spike at the end of a short window reads as growth.
const (
	minJudged  = 3 * time.Minute
	minSamples = 10
)

func judgeMemory(samples []memSample, warmup time.Duration, maxGrowth float64) (memVerdict, error) {
	v := memVerdict{warmup: warmup}
	var xs, ys []float64
	for _, s := range samples {
		if s.at < warmup {
			continue
		}
		xs = append(xs, s.at.Minutes())
		ys = append(ys, float64(s.live))
		if v.samples == 0 || s.live < v.min {
			v.min = s.live
		}
		v.max = max(v.max, s.live)
		v.samples++
	}
	if v.samples < minSamples || samples[len(samples)-1].at-warmup < minJudged {
		return v, fmt.Errorf("%d memory samples after the %v warm-up: a trend needs %v of them at least; run longer (--duration ≥ %v) to judge memory",
			v.samples, warmup, minJudged, warmup+minJudged)
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	n := float64(len(xs))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx > 0 {
		v.slopePerMin = sxy / sxx
	}
	v.mean = my
	v.measure = time.Duration((xs[len(xs)-1] - xs[0]) * float64(time.Minute))
	v.growth = v.slopePerMin * v.measure.Minutes()
	v.growthRatio = v.growth / v.mean
	v.flat = v.growth < floorBytes || v.growthRatio < maxGrowth
	return v, nil
}

func (v memVerdict) String() string {
	word := "FLAT"
	if !v.flat {
		word = "GROWING"
	}
	return fmt.Sprintf("%s: live heap after the %v warm-up %s mean (min %s, max %s, %d samples); trend %+.2f MiB/min, %+.1f%% over %v",
		word, v.warmup, mib(uint64(v.mean)), mib(v.min), mib(v.max), v.samples,
		v.slopePerMin/(1<<20), 100*v.growthRatio, v.measure.Round(time.Second))
}
