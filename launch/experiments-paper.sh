# Sourced by launch/experiments.sh: the variants of the paper regime's experiments, one line each
# (name|what it is|serve options[|series|x]), from its settings (paper_scenario, paper_set,
# paper_energies, paper_ranks, paper_standard_ranks, paper_ideal_ranks, paper_fixed,
# paper_eval_every, paper_energy, method, final_only).
# Every run at the scenario's energy unless a sweep says other; every baseline at AirFL-LoRA's
# planned rank of its seed. tci and mmse use eigen beamforming, so each differs from `eigen` in the
# one thing its name says (and from AirFL-LoRA in the beamformer too); paper-power's ideal FL is at
# the highest rank swept, not at AirFL-LoRA's rank of each energy (its label says so).
paper_baselines_variants() {
  local at="$paper_set --set aircomp.tx_energy_offset_db=$paper_energy --set federation.eval_every=$paper_eval_every"
  local same="--set federation.rank_planning=false --set federation.rank=@rank:paper-baselines/airfl-lora $at"
  cat <<V
airfl-lora|AirFL-LoRA: planned rank, manifold receive beamforming|$method $at
ideal|ideal FL (error-free aggregation) at AirFL-LoRA's planned rank (each seed's)|--aggregation ideal $same
eigen|AirComp, AirFL-LoRA's rank, eigen beamforming|$same --set federation.beamforming="eigen"|beamformers
tci|truncated channel inversion (read against eigen): eigen beamforming, a device 10 dB below the median sits the round out; AirFL-LoRA's rank|$same --set federation.beamforming="eigen" --set aircomp.truncation_db=10|baselines
mmse|minimum-MSE power control, not zero forcing (read against eigen): eigen beamforming; AirFL-LoRA's rank|$same --set federation.beamforming="eigen" --set aircomp.power_control="mmse"|baselines
digital|digital OFDMA, 8 bits a real, its own airtime; AirFL-LoRA's rank|--aggregation digital $same|digital
digital-same-airtime|digital OFDMA in AirComp's airtime per round (unbiased compression); AirFL-LoRA's rank|--aggregation digital $same --set federation.digital_same_airtime=true|digital
V
}
paper_rank_variants() {
  local at="$paper_set $final_only --set aircomp.tx_energy_offset_db=$paper_energy" r
  local fixed='--set federation.rank_planning=false'
  for r in "${paper_ranks[@]}"; do echo "rslora-rank-$r|AirComp, fixed rank $r, manifold, rsLoRA scale α/√r|$fixed --set federation.rank=$r $at|rsLoRA|$r"; done
  echo "planned|AirFL-LoRA (planned rank, rsLoRA scale)|=paper-baselines/airfl-lora|rsLoRA|rank"
  for r in "${paper_standard_ranks[@]}"; do echo "standard-rank-$r|AirComp, fixed rank $r, manifold, standard scale α/r|$fixed --set federation.rank=$r --set federation.lora_scaling=\"standard\" $at|standard|$r"; done
  for r in "${paper_ideal_ranks[@]}"; do echo "ideal-rank-$r|ideal FL at rank $r, rsLoRA scale (no air)|--aggregation ideal $fixed --set federation.rank=$r $at|ideal|$r"; done
}
paper_power_variants() {
  local fixed="--set federation.rank_planning=false --set federation.rank=$paper_fixed" e top=${paper_ideal_ranks[-1]}
  for e in "${paper_energies[@]}"; do
    local at="$paper_set $final_only --set aircomp.tx_energy_offset_db=$e"
    echo "ideal-p$e|ideal FL at rank $top, the highest swept (no air: the same at every energy; AirFL-LoRA's rank differs)|=paper-rank/ideal-rank-$top|ideal|$e"
    if ((e == paper_energy)); then echo "airfl-lora-p$e|AirFL-LoRA at the scenario's energy ($e dB)|=paper-baselines/airfl-lora|airfl-lora|$e"
    else echo "airfl-lora-p$e|AirFL-LoRA, every profile's energy per round $e dB|$method $at|airfl-lora|$e"; fi
    echo "ideal-fixed-p$e|ideal FL at rank $paper_fixed (no air: the same at every energy)|=paper-rank/ideal-rank-$paper_fixed|ideal-fixed|$e"
    if ((e == paper_energy)); then echo "aircomp-fixed-p$e|AirComp at rank $paper_fixed, manifold, the scenario's energy ($e dB)|=paper-rank/rslora-rank-$paper_fixed|aircomp-fixed|$e"
    else echo "aircomp-fixed-p$e|AirComp at rank $paper_fixed, manifold, every profile's energy per round $e dB|$fixed $at|aircomp-fixed|$e"; fi
  done
}
