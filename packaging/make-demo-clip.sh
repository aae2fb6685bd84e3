#!/usr/bin/env bash
# Renders vigil's demo clip with FFmpeg's own test sources: a fixed camera over a grey street
# with sensor noise, "pedestrians" and "cars" crossing at steady speeds for 60 s, and one
# incident from 34 s to 41 s: a car swerves into two struggling figures, a fire flares up with
# a flash, the camera shakes and bystanders scatter.
# Generated, not recorded: no third-party footage ships with the project.
set -euo pipefail
out=${1:?usage: make-demo-clip.sh OUT.mp4}
mkdir -p "$(dirname "$out")"
tmp="$out.part.mp4"
D=60
I='between(t,34,41)'
ffmpeg -nostdin -hide_banner -loglevel error -y \
  -f lavfi -i "color=c=0x5a5f63:s=680x400:r=30:d=$D" \
  -f lavfi -i "color=c=0x2d3a8c:s=22x52:r=30:d=$D" \
  -f lavfi -i "color=c=0x8c3a2d:s=22x52:r=30:d=$D" \
  -f lavfi -i "color=c=0x3a8c4a:s=22x52:r=30:d=$D" \
  -f lavfi -i "color=c=0xd8d8d0:s=110x48:r=30:d=$D" \
  -f lavfi -i "color=c=0x202020:s=110x48:r=30:d=$D" \
  -f lavfi -i "color=c=0xff9a20:s=200x150:r=30:d=$D" \
  -f lavfi -i "color=c=0x7a2d8c:s=22x52:r=30:d=$D" \
  -f lavfi -i "color=c=0x8c8a2d:s=22x52:r=30:d=$D" \
  -filter_complex "
    [0]drawbox=x=0:y=170:w=680:h=100:color=0x3c3c3c:t=fill,
       drawbox=x=0:y=217:w=680:h=4:color=0xc8c8a0:t=fill,
       drawbox=x=60:y=50:w=130:h=90:color=0x4a4f53:t=fill,
       drawbox=x=490:y=40:w=150:h=100:color=0x4a4f53:t=fill[bg];
    [6]noise=alls=90:allf=t,boxblur=6:2,hue=H=0.4*sin(20*t)[fire];
    [bg][1]overlay=x='if($I,300+30*sin(9*t),mod(22*t,760)-40)':y='if($I,280+25*sin(7*t),290)':eval=frame[a];
    [a][2]overlay=x='if($I,330+40*sin(11*t),680-mod(16*t+200,760))':y='if($I,290+20*cos(13*t),310)':eval=frame[b];
    [b][3]overlay=x='mod(13*t+350,760)-40':y=110:eval=frame[c];
    [c][4]overlay=x='if(gte(t,34),if(lt(t,36),60+120*(t-34)+30*sin(15*t),300+8*sin(40*t)),mod(95*t,980)-130)':y='if(gte(t,34),if(lt(t,36),180+40*(t-34),260),180)':eval=frame[d];
    [d][5]overlay=x='680-mod(75*t+300,980)+130':y=225:eval=frame[e];
    [e][7]overlay=x='if($I,320+140*(t-34)*cos(2.1*t),-100)':y='if($I,300-60*(t-34)*sin(1.7*t),-100)':eval=frame[f];
    [f][8]overlay=x='if($I,340-150*(t-34),-100)':y='if($I,280+50*(t-34)*sin(3*t),-100)':eval=frame[g];
    [g][fire]overlay=x='260+10*sin(13*t)':y='170+8*cos(11*t)':enable='between(t,36,41)'[h];
    [h]drawbox=x=0:y=0:w=680:h=400:color=white@0.85:t=fill:enable='between(t,36,36.6)',
       crop=640:360:x='20+if(between(t,36,39),14*sin(41*t),0)':y='20+if(between(t,36,39),10*cos(37*t),0)',
       noise=alls=6:allf=t,format=yuv420p[v]" \
  -map "[v]" -c:v libx264 -preset veryfast -crf 23 -g 60 -movflags +faststart -f mp4 "$tmp"
mv "$tmp" "$out"
echo "demo clip: $out ($D s, incident from 34 s to 41 s)"
