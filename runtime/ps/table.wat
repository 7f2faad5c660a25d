;; Hand-written WebAssembly for the parameter server's hot loops over a table (optimizers.ts, Table):
;; the sparse pull's gather and the AdaGrad step of a push. Same arithmetic as the JavaScript it
;; replaces (float64 within a step, float32 stored), bit for bit; what it saves is V8's per-element
;; bounds checks and index conversions of a typed-array loop over scattered rows: the step costs
;; about a third, the gather about half (docs/benchmarks.md, psUpdates).
;; Regenerate table-wasm.ts after editing: `node runtime/models/wasm/build.mjs`.
;;
;; Every pointer is a byte offset into the imported memory: the table's rows from 0 (row r at
;; r·stride floats: its weights, then its optimiser state, see Table.data), the call's arrays in the
;; scratch area after it. The step's row ids must have been checked (< rows) by the caller.
(module
  (import "env" "memory" (memory 1))

  ;; out[i·width + j] = weight j of row ids[i], for i < n. Checks the ids as it goes: returns the
  ;; position of the first id >= rows (out is then partly written, and the caller answers with an
  ;; error instead), else -1.
  (func (export "gather") (param $ids i32) (param $n i32) (param $out i32) (param $stride i32) (param $width i32)
                          (param $rows i32) (result i32)
    (local $i i32) (local $id i32)
    (if (i32.eq (local.get $width) (i32.const 1))
      (then
        (block $done (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $id (i32.load (local.get $ids)))
          (if (i32.ge_u (local.get $id) (local.get $rows)) (then (return (local.get $i))))
          (f32.store (local.get $out) (f32.load (i32.shl (i32.mul (local.get $id) (local.get $stride)) (i32.const 2))))
          (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
        (return (i32.const -1))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $id (i32.load (local.get $ids)))
      (if (i32.ge_u (local.get $id) (local.get $rows)) (then (return (local.get $i))))
      (memory.copy (local.get $out) (i32.shl (i32.mul (local.get $id) (local.get $stride)) (i32.const 2))
                   (i32.shl (local.get $width) (i32.const 2)))
      (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
      (local.set $out (i32.add (local.get $out) (i32.shl (local.get $width) (i32.const 2))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (i32.const -1))

  ;; The checks of a push before anything is applied (Table.checkPush): four elements at a time, the
;; lanes' results gathered into one vector, so a push that passes (nearly all) costs one pass with one
;; branch per four elements; the position is looked for, one at a time, only when something failed.

  ;; The position of the first id >= rows among ids[0..n), or -1.
  (func (export "firstBadId") (param $ids i32) (param $n i32) (param $rows i32) (result i32)
    (local $i i32) (local $any v128) (local $limit v128)
    (local.set $limit (i32x4.splat (local.get $rows)))
    (block $done (loop $each
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
      (local.set $any (v128.or (local.get $any)
        (i32x4.ge_u (v128.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))) (local.get $limit))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $each)))
    ;; the last n mod 4 ids, and the search when a lane failed, one at a time from where that can be
    (if (v128.any_true (local.get $any)) (then (local.set $i (i32.const 0))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.ge_u (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))) (local.get $rows))
        (then (return (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (i32.const -1))

  ;; The position of the first NaN or infinity among values[0..count), or -1 (x − x is 0 for a finite x
  ;; and NaN otherwise, and a NaN stays NaN through the sums).
  (func (export "firstNonFinite") (param $values i32) (param $count i32) (result i32)
    (local $i i32) (local $sum v128) (local $x v128) (local $y f32)
    (block $done (loop $each
      (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $count)))
      (local.set $x (v128.load (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $sum (f32x4.add (local.get $sum) (f32x4.sub (local.get $x) (local.get $x))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $each)))
    (if (v128.any_true (f32x4.ne (local.get $sum) (local.get $sum))) (then (local.set $i (i32.const 0))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $y (f32.load (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2)))))
      (if (f32.ne (f32.sub (local.get $y) (local.get $y)) (f32.const 0)) (then (return (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (i32.const -1))

;; AdaGrad on rows ids[0..n) with gradients grads[i·width + j] (stride = 2·width: weights, then
  ;; accumulators). Per element, as Table's JavaScript did: g = grad + l2·w (float64); G += g²;
  ;; w -= lr·g / (√G + ε) with G the float64 sum; both stored as float32. Before writing a row it
  ;; saves the row's old values in backup (weights at i·width, accumulators at (n + i)·width, in
  ;; floats); after, it checks what it stored: the first position whose row got a NaN or an infinity
  ;; stops the loop and is returned (the caller puts the saved rows back), else -1.
  (func (export "adagrad") (param $ids i32) (param $n i32) (param $grads i32) (param $backup i32)
                           (param $width i32) (param $lr f64) (param $l2 f64) (param $eps f64) (result i32)
    (local $i i32) (local $j i32) (local $k i32) (local $kg i32) (local $wb i32) (local $gb i32) (local $block i32)
    (local $w f64) (local $g f64) (local $acc f64) (local $nw f32) (local $na f32) (local $check f32)
    (local.set $wb (i32.shl (local.get $width) (i32.const 2))) ;; bytes of one array's part of a row
    (local.set $block (i32.mul (local.get $n) (local.get $wb))) ;; bytes of the backup's weights block
    ;; First a pass that only reads each row's first word: the rows are scattered over a table far
    ;; larger than the cache, and a loop this small has many of their cache misses in flight at once,
    ;; where the step's longer loop body had few (the step took about a quarter less with it, bench
    ;; psUpdates). What it read is stored where the backup starts (overwritten below) so that the
    ;; reads are not dropped as unused.
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $j (i32.xor (local.get $j)
        (i32.load (i32.mul (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))) (i32.shl (local.get $wb) (i32.const 1))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (i32.store (local.get $backup) (local.get $j))
    (if (i32.eq (local.get $width) (i32.const 1))
      (then (return (call $adagrad1 (local.get $ids) (local.get $n) (local.get $grads) (local.get $backup)
                                    (local.get $lr) (local.get $l2) (local.get $eps)))))
    (local.set $i (i32.const 0))
    (block $done (loop $each_row
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      ;; k: the row's first weight; its accumulators start wb bytes later
      (local.set $k (i32.mul (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))) (i32.shl (local.get $wb) (i32.const 1))))
      (local.set $gb (i32.mul (local.get $i) (local.get $wb)))
      (local.set $check (f32.const 0))
      (local.set $j (i32.const 0))
      (loop $each_element
        (local.set $kg (i32.add (local.get $k) (local.get $wb)))
        (f32.store (i32.add (local.get $backup) (local.get $gb)) (f32.load (local.get $k)))
        (f32.store (i32.add (i32.add (local.get $backup) (local.get $block)) (local.get $gb)) (f32.load (local.get $kg)))
        (local.set $w (f64.promote_f32 (f32.load (local.get $k))))
        (local.set $g (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $grads) (local.get $gb))))
                               (f64.mul (local.get $l2) (local.get $w))))
        (local.set $acc (f64.add (f64.promote_f32 (f32.load (local.get $kg))) (f64.mul (local.get $g) (local.get $g))))
        (local.set $na (f32.demote_f64 (local.get $acc)))
        (local.set $nw (f32.demote_f64 (f64.sub (local.get $w)
          (f64.div (f64.mul (local.get $lr) (local.get $g)) (f64.add (f64.sqrt (local.get $acc)) (local.get $eps))))))
        (f32.store (local.get $kg) (local.get $na))
        (f32.store (local.get $k) (local.get $nw))
        ;; x − x is 0 for a finite x and NaN otherwise
        (local.set $check (f32.add (local.get $check)
          (f32.add (f32.sub (local.get $nw) (local.get $nw)) (f32.sub (local.get $na) (local.get $na)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (local.set $gb (i32.add (local.get $gb) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $each_element (i32.lt_u (local.get $j) (local.get $width))))
      (if (f32.ne (local.get $check) (f32.const 0)) (then (return (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each_row)))
    (i32.const -1))

  ;; adagrad for width 1 (row r: weight at 8r bytes, accumulator at 8r + 4): two rows at a time in the
  ;; lanes of f64x2, the same operations in the same order per lane (float64 square root and division
  ;; round as their scalar forms do, so the rows come out bit for bit as one at a time), which halves
  ;; the square roots and divisions that bound the step (the step took less than half the time, bench
  ;; psUpdates). A row listed twice in a row, and a last odd row, are stepped alone ($row1), in order.
  ;; Saving, checking and the result are as in adagrad; when the first row of a pair is the bad one,
  ;; the second, written beside it, is put back here, so that the caller's restore (positions up to the
  ;; one returned) leaves every row as it was.
  (func $adagrad1 (param $ids i32) (param $n i32) (param $grads i32) (param $backup i32)
                  (param $lr f64) (param $l2 f64) (param $eps f64) (result i32)
    (local $i i32) (local $at i32) (local $ka i32) (local $kb i32) (local $accBackup i32)
    (local $w v128) (local $g v128) (local $acc v128) (local $nw v128) (local $na v128) (local $check v128)
    (local $lr2 v128) (local $l22 v128) (local $eps2 v128)
    (local.set $lr2 (f64x2.splat (local.get $lr)))
    (local.set $l22 (f64x2.splat (local.get $l2)))
    (local.set $eps2 (f64x2.splat (local.get $eps)))
    (local.set $accBackup (i32.add (local.get $backup) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $at (i32.shl (local.get $i) (i32.const 2))) ;; position i's byte offset in ids, grads and each backup block
      (local.set $ka (i32.shl (i32.load (i32.add (local.get $ids) (local.get $at))) (i32.const 3)))
      (local.set $kb (local.get $ka))
      (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
        (then (local.set $kb (i32.shl (i32.load offset=4 (i32.add (local.get $ids) (local.get $at))) (i32.const 3)))))
      (if (i32.eq (local.get $ka) (local.get $kb))
        (then
          (if (call $row1 (local.get $ka) (i32.add (local.get $grads) (local.get $at)) (i32.add (local.get $backup) (local.get $at))
                          (i32.add (local.get $accBackup) (local.get $at)) (local.get $lr) (local.get $l2) (local.get $eps))
            (then (return (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (f32.store (i32.add (local.get $backup) (local.get $at)) (f32.load (local.get $ka)))
      (f32.store offset=4 (i32.add (local.get $backup) (local.get $at)) (f32.load (local.get $kb)))
      (f32.store (i32.add (local.get $accBackup) (local.get $at)) (f32.load offset=4 (local.get $ka)))
      (f32.store offset=4 (i32.add (local.get $accBackup) (local.get $at)) (f32.load offset=4 (local.get $kb)))
      (local.set $w (f64x2.promote_low_f32x4
        (f32x4.replace_lane 1 (f32x4.splat (f32.load (local.get $ka))) (f32.load (local.get $kb)))))
      (local.set $g (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $grads) (local.get $at))))
                               (f64x2.mul (local.get $l22) (local.get $w))))
      (local.set $acc (f64x2.add
        (f64x2.promote_low_f32x4 (f32x4.replace_lane 1 (f32x4.splat (f32.load offset=4 (local.get $ka))) (f32.load offset=4 (local.get $kb))))
        (f64x2.mul (local.get $g) (local.get $g))))
      (local.set $na (f32x4.demote_f64x2_zero (local.get $acc)))
      (local.set $nw (f32x4.demote_f64x2_zero (f64x2.sub (local.get $w)
        (f64x2.div (f64x2.mul (local.get $lr2) (local.get $g)) (f64x2.add (f64x2.sqrt (local.get $acc)) (local.get $eps2))))))
      (f32.store (local.get $ka) (f32x4.extract_lane 0 (local.get $nw)))
      (f32.store offset=4 (local.get $ka) (f32x4.extract_lane 0 (local.get $na)))
      (f32.store (local.get $kb) (f32x4.extract_lane 1 (local.get $nw)))
      (f32.store offset=4 (local.get $kb) (f32x4.extract_lane 1 (local.get $na)))
      (local.set $check (f32x4.add (f32x4.sub (local.get $nw) (local.get $nw)) (f32x4.sub (local.get $na) (local.get $na))))
      (if (f32.ne (f32x4.extract_lane 0 (local.get $check)) (f32.const 0))
        (then
          (f32.store (local.get $kb) (f32.load offset=4 (i32.add (local.get $backup) (local.get $at))))
          (f32.store offset=4 (local.get $kb) (f32.load offset=4 (i32.add (local.get $accBackup) (local.get $at))))
          (return (local.get $i))))
      (if (f32.ne (f32x4.extract_lane 1 (local.get $check)) (f32.const 0))
        (then (return (i32.add (local.get $i) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $each)))
    (i32.const -1))

  ;; One width-1 row's step, as in adagrad: saves its weight and accumulator at $savedW and $savedG,
  ;; writes the new ones at $k and $k + 4, and returns 1 if either is not finite, else 0.
  (func $row1 (param $k i32) (param $grad i32) (param $savedW i32) (param $savedG i32)
              (param $lr f64) (param $l2 f64) (param $eps f64) (result i32)
    (local $w f64) (local $g f64) (local $acc f64) (local $nw f32) (local $na f32)
    (f32.store (local.get $savedW) (f32.load (local.get $k)))
    (f32.store (local.get $savedG) (f32.load offset=4 (local.get $k)))
    (local.set $w (f64.promote_f32 (f32.load (local.get $k))))
    (local.set $g (f64.add (f64.promote_f32 (f32.load (local.get $grad))) (f64.mul (local.get $l2) (local.get $w))))
    (local.set $acc (f64.add (f64.promote_f32 (f32.load offset=4 (local.get $k))) (f64.mul (local.get $g) (local.get $g))))
    (local.set $na (f32.demote_f64 (local.get $acc)))
    (local.set $nw (f32.demote_f64 (f64.sub (local.get $w)
      (f64.div (f64.mul (local.get $lr) (local.get $g)) (f64.add (f64.sqrt (local.get $acc)) (local.get $eps))))))
    (f32.store offset=4 (local.get $k) (local.get $na))
    (f32.store (local.get $k) (local.get $nw))
    (f32.ne (f32.add (f32.sub (local.get $nw) (local.get $nw)) (f32.sub (local.get $na) (local.get $na))) (f32.const 0))))

