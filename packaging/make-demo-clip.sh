#!/usr/bin/env bash
# Renders vigil's demo clip with FFmpeg's own test sources: a fixed camera over a grey street
# with sensor noise, "pedestrians" and "cars" crossing at steady speeds, and one incident
# (two figures collide and struggle, a flash, a car swerves) from 52 s to 60 s of a 90 s clip.
# Generated, not recorded: no third-party footage ships with the project.
set -euo pipefail
out=${1:?usage: make-demo-clip.sh OUT.mp4}
mkdir -p "$(dirname "$out")"
tmp="$out.part.mp4"
I='between(t,52,60)'
ffmpeg -nostdin -hide_banner -loglevel error -y \
  -f lavfi -i "color=c=0x5a5f63:s=640x360:r=30:d=90" \
  -f lavfi -i "color=c=0x2d3a8c:s=18x44:r=30:d=90" \
  -f lavfi -i "color=c=0x8c3a2d:s=18x44:r=30:d=90" \
  -f lavfi -i "color=c=0x3a8c4a:s=18x44:r=30:d=90" \
  -f lavfi -i "color=c=0xd8d8d0:s=90x40:r=30:d=90" \
  -f lavfi -i "color=c=0x202020:s=90x40:r=30:d=90" \
  -filter_complex "
    [0]drawbox=x=0:y=150:w=640:h=90:color=0x3c3c3c:t=fill,
       drawbox=x=0:y=192:w=640:h=4:color=0xc8c8a0:t=fill,
       drawbox=x=40:y=40:w=120:h=80:color=0x4a4f53:t=fill,
       drawbox=x=470:y=30:w=140:h=90:color=0x4a4f53:t=fill[bg];
    [bg][1]overlay=x='mod(20*t,700)-40':y='if($I,250+25*sin(9*t),260)':eval=frame[a];
    [a][2]overlay=x='if($I,300+40*sin(11*t),640-mod(15*t+200,700))':y='if($I,262+20*cos(13*t),280)':eval=frame[b];
    [b][3]overlay=x='mod(12*t+350,700)-40':y=100:eval=frame[c];
    [c][4]overlay=x='mod(90*t,900)-120':y='if($I,160+30*sin(4*t),160)':eval=frame[d];
    [d][5]overlay=x='640-mod(70*t+300,900)+120':y=200:eval=frame[e];
    [e]drawbox=x=0:y=0:w=640:h=360:color=white@0.85:t=fill:enable='between(t,55,55.7)',
       noise=alls=6:allf=t,format=yuv420p[v]" \
  -map "[v]" -c:v libx264 -preset veryfast -crf 23 -g 60 -movflags +faststart -f mp4 "$tmp"
mv "$tmp" "$out"
echo "demo clip: $out (90 s, incident from 52 s to 60 s)"
